// A per-thread pool of OpenSSL's TLS record buffers (TLSRecordBuffers).
//
// Sessions run with SSL_MODE_RELEASE_BUFFERS so an idle connection holds no
// record buffer; OpenSSL 3.0 then frees and allocates its ~16.5 KiB read and
// write buffers on every keep-alive request, and glibc serves blocks that size
// from its bins (no tcache), ~800 instructions a request. OpenSSL has no API to
// supply record buffers (1.0.x kept a per-SSL_CTX free list; 1.1.0 dropped it),
// so OpenSSL's allocator is replaced once, before its first allocation
// (CRYPTO_set_mem_functions), with malloc/realloc/free that differ in one case
// only: a block of 16-17 KiB allocated or freed in ssl/record/ssl3_buffer.c
// comes from or goes to the calling thread's pool (a worker's thread: one owner
// per session, so no lock). Scope kept safe by construction:
// - pooled blocks are ordinary malloc(17 KiB) blocks: freeing one anywhere else is correct;
// - a block is pooled only when malloc_usable_size says it holds 17 KiB;
// - at most cap_record_depth blocks a thread (136 KiB), the rest freed;
//   a thread's blocks are freed when it exits (pthread key destructor);
// - another OpenSSL (3.2's record layer lives in other files) simply never matches.
// All pool code is reached from one Swift file (TLSRecordBuffers.swift): the
// static state below exists once per object file that uses it.
#ifndef CAPUCHIN_RECORD_POOL_H
#define CAPUCHIN_RECORD_POOL_H

#include <openssl/crypto.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { cap_record_min = 16 * 1024, cap_record_block = 17 * 1024, cap_record_depth = 8 };

struct cap_record_pool {
    void *blocks[cap_record_depth];
    int count;
    int registered;      // the thread-exit destructor knows this pool
    unsigned long reused;     // record buffers handed out from the pool
    unsigned long allocated;  // record buffers that needed malloc
};

// The state lives in function-local statics: Swift's importer emits the static
// inline functions a Swift file calls, not a header's file-scope variables.
static inline struct cap_record_pool *cap_record_pool_this(void) {
    static __thread struct cap_record_pool pool;
    return &pool;
}
// OPENSSL_FILE of ssl3_buffer.c as libssl spells it (one string there), found by
// the first record-buffer allocation; NULL until then (no pooled block exists yet).
static inline const char **cap_record_file(void) {
    static const char *file;
    return &file;
}
static inline pthread_key_t *cap_record_pool_key(void) {
    static pthread_key_t key;
    return &key;
}

static void cap_record_pool_drain(void *raw) {
    struct cap_record_pool *p = (struct cap_record_pool *)raw;
    while (p->count > 0) free(p->blocks[--p->count]);
    p->registered = 0;
}

static inline int cap_record_site(const char *file) {
    const char *known = __atomic_load_n(cap_record_file(), __ATOMIC_RELAXED);
    if (known != NULL) return file == known;
    static const char suffix[] = "ssl/record/ssl3_buffer.c";
    size_t n = file != NULL ? strlen(file) : 0, s = sizeof(suffix) - 1;
    if (n < s || memcmp(file + n - s, suffix, s) != 0) return 0;
    __atomic_store_n(cap_record_file(), file, __ATOMIC_RELAXED);
    return 1;
}

// The pool's side of malloc and free, out of line: OpenSSL allocates and frees
// ~1,500 times a full handshake, and the common path (not a record buffer) then
// costs a compare and a tail call, with no stack frame.
__attribute__((noinline)) static void *cap_record_take(size_t num, const char *file) {
    if (!cap_record_site(file)) return malloc(num);
    struct cap_record_pool *p = cap_record_pool_this();
    if (p->count > 0) {
        p->reused++;
        return p->blocks[--p->count];
    }
    p->allocated++;
    return malloc(cap_record_block);
}

__attribute__((noinline)) static void cap_record_put(void *ptr) {
    struct cap_record_pool *p = cap_record_pool_this();
    if (p->count < cap_record_depth && malloc_usable_size(ptr) >= cap_record_block) {
        if (!p->registered) {
            p->registered = 1;
            pthread_setspecific(*cap_record_pool_key(), p);
        }
        p->blocks[p->count++] = ptr;
        return;
    }
    free(ptr);
}

static void *cap_record_malloc(size_t num, const char *file, int line) {
    (void)line;
    if (num == 0) return NULL;  // as CRYPTO_malloc
    if (num - cap_record_min <= (size_t)(cap_record_block - cap_record_min)) return cap_record_take(num, file);
    return malloc(num);
}

static void cap_record_free(void *ptr, const char *file, int line) {
    (void)line;
    const char *known = __atomic_load_n(cap_record_file(), __ATOMIC_RELAXED);
    if (file == known && known != NULL && ptr != NULL) {
        cap_record_put(ptr);
        return;
    }
    free(ptr);
}

static void *cap_record_realloc(void *ptr, size_t num, const char *file, int line) {
    // CRYPTO_realloc's own rules, which a replacement must keep.
    if (ptr == NULL) return cap_record_malloc(num, file, line);
    if (num == 0) {
        cap_record_free(ptr, file, line);
        return NULL;
    }
    return realloc(ptr, num);
}

/// 1: OpenSSL allocates through the pool; 0: too late (OpenSSL already allocated), plain malloc.
static inline int cap_record_pool_install(void) {
    if (pthread_key_create(cap_record_pool_key(), cap_record_pool_drain) != 0) return 0;
    return CRYPTO_set_mem_functions(cap_record_malloc, cap_record_realloc, cap_record_free);
}
static inline unsigned long cap_record_pool_reused(void) { return cap_record_pool_this()->reused; }
static inline unsigned long cap_record_pool_allocated(void) { return cap_record_pool_this()->allocated; }
static inline int cap_record_pool_held(void) { return cap_record_pool_this()->count; }

#endif
