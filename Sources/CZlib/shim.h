#include <zlib.h>

// deflateInit2 and inflateInit2 are macros Swift cannot call: these wrap them
// with the gzip framing (window bits 15 + 16) HTTP's "gzip" coding uses.
static inline int capuchin_deflate_init_gzip(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int capuchin_inflate_init_gzip(z_streamp strm) {
    return inflateInit2(strm, 15 + 16);
}
