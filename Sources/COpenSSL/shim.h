// OpenSSL 3 (Debian libssl-dev) for CapuchinTLS. Many of OpenSSL's setters are
// macros over SSL_CTX_ctrl/SSL_ctrl, which Swift cannot call: each is wrapped
// here as a static inline function (the CSystemShims pattern). No state here.
#ifndef CAPUCHIN_COPENSSL_SHIM_H
#define CAPUCHIN_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <openssl/core_names.h>
#include <openssl/ocsp.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <linux/tls.h>

static inline int cap_ssl_ctx_set_min_proto(SSL_CTX *c, int v) { return (int)SSL_CTX_set_min_proto_version(c, v); }
static inline long cap_ssl_ctx_set_mode(SSL_CTX *c, long m) { return SSL_CTX_set_mode(c, m); }
static inline long cap_ssl_ctx_session_cache_off(SSL_CTX *c) { return SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF); }
// A client context hands each new session (TLS 1.3: each ticket) to its callback and keeps none itself.
static inline long cap_ssl_ctx_client_sessions_external(SSL_CTX *c) {
    return SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}
static inline int cap_ssl_ctx_set_groups(SSL_CTX *c, const char *list) { return (int)SSL_CTX_set1_groups_list(c, list); }

static inline long cap_ssl_ctx_set_servername_callback(SSL_CTX *c, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(c, cb);
}

static inline long cap_ssl_ctx_set_ticket_callback(SSL_CTX *c,
    int (*cb)(SSL *, unsigned char *, unsigned char *, EVP_CIPHER_CTX *, EVP_MAC_CTX *, int)) {
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(c, cb);
}

static inline long cap_ssl_set_tlsext_host_name(SSL *s, const char *name) { return SSL_set_tlsext_host_name(s, name); }

// The session ticket's HMAC key (HMAC-SHA256), as OpenSSL's ticket callback expects.
static inline int cap_ticket_mac_init(EVP_MAC_CTX *h, unsigned char *key, size_t len) {
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, len);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"sha256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(h, params);
}

// OCSP stapling (TLSOCSPStaple): the status callback and the response handed to OpenSSL,
// which frees it (so it must come from OPENSSL_malloc).
static inline long cap_ssl_ctx_set_status_cb(SSL_CTX *c, int (*cb)(SSL *, void *), void *arg) {
    SSL_CTX_set_tlsext_status_arg(c, arg);
    return SSL_CTX_set_tlsext_status_cb(c, cb);
}
static inline int cap_ssl_staple(SSL *s, const unsigned char *der, long len) {
    unsigned char *copy = OPENSSL_malloc(len);
    if (copy == NULL) return 0;
    memcpy(copy, der, len);
    if (SSL_set_tlsext_status_ocsp_resp(s, copy, len) != 1) { OPENSSL_free(copy); return 0; }
    return 1;
}
// A client asking for the server's OCSP response (the proxy does not; tests do).
static inline long cap_ssl_request_status(SSL *s) { return SSL_set_tlsext_status_type(s, TLSEXT_STATUSTYPE_ocsp); }

// The write BIO's retry flags (TLSRecordBatch): macros over BIO_set_flags.
static inline void cap_bio_set_retry_write(BIO *b) { BIO_set_retry_write(b); }
static inline void cap_bio_clear_retry(BIO *b) { BIO_clear_retry_flags(b); }
static inline int cap_bio_type_records(void) { return BIO_TYPE_SOURCE_SINK; }
// The record BIO's ctrl: OpenSSL asks it several questions per record (kTLS, pending
// bytes...) and flushes after each handshake flight; records already went out, so a
// flush succeeds and every other answer is 0. In C: a Swift closure here cost a thunk per call.
static inline long cap_bio_records_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b; (void)num; (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

// Kernel TLS (TLSSession+KernelTLS). OpenSSL's BIO controls for it are internal
// (include/internal/bio.h of 3.0: BIO_CTRL_SET_KTLS 72, ..._TX_SEND_CTRL_MSG 74,
// ..._CLEAR_KTLS_TX_CTRL_MSG 75); the two public ones are in <openssl/bio.h>.
static inline int cap_bio_ctrl_set_ktls(void) { return 72; }
static inline int cap_bio_ctrl_ktls_send_ctrl_msg(void) { return 74; }
static inline int cap_bio_ctrl_ktls_clear_ctrl_msg(void) { return 75; }
static inline int cap_bio_ctrl_get_ktls_send(void) { return BIO_CTRL_GET_KTLS_SEND; }
static inline int cap_bio_ctrl_get_ktls_recv(void) { return BIO_CTRL_GET_KTLS_RECV; }
static inline uint64_t cap_op_enable_ktls(void) { return SSL_OP_ENABLE_KTLS; }
// The length of the kernel's crypto_info OpenSSL filled (its ktls_crypto_info_t is a
// union of <linux/tls.h>'s structs, then a length field whose offset depends on the
// members OpenSSL was built with): the struct for the cipher it names, 0 if unknown.
static inline size_t cap_ktls_info_length(const void *info) {
    const struct tls_crypto_info *i = (const struct tls_crypto_info *)info;
    switch (i->cipher_type) {
    case TLS_CIPHER_AES_GCM_128: return sizeof(struct tls12_crypto_info_aes_gcm_128);
    case TLS_CIPHER_AES_GCM_256: return sizeof(struct tls12_crypto_info_aes_gcm_256);
    case TLS_CIPHER_AES_CCM_128: return sizeof(struct tls12_crypto_info_aes_ccm_128);
    case TLS_CIPHER_CHACHA20_POLY1305: return sizeof(struct tls12_crypto_info_chacha20_poly1305);
    default: return 0;
    }
}
// A server session's read side: the socket, read(2) as OpenSSL's socket BIO reads
// it, with two differences. After a read that returned less than it asked for (the
// socket's queue was emptied), the next read does not call read(2) only to be told
// EAGAIN: it asks for a retry at once, until the event loop reports the socket
// readable again (cap_bio_socket_reads_signalled). The loop's epoll is
// level-triggered, so input that arrives meanwhile is reported and nothing waits.
// In a TLS 1.3 handshake OpenSSL reads again after writing its flight and after the
// client's Finished: 2 read(2)s that could only fail, of ~25 syscalls a resumed
// connection (nginx keeps the same "ready" state from a short read).
// And it refuses the receive keys of kernel TLS (OpenSSL offers them for TLS 1.2
// when SSL_OP_ENABLE_KTLS is set; receiving stays in user space, with read-ahead).
// Its data word is the descriptor shifted left once, the low bit "drained": no
// allocation (OpenSSL 3.2's socket BIO keeps a struct of its own there, so this
// BIO owns its state rather than borrowing the socket BIO's).
static int cap_bio_socket_read(BIO *b, char *out, int outl) {
    uintptr_t word = (uintptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (out == NULL || outl <= 0) return 0;
    if (word & 1) {
        BIO_set_retry_read(b);
        return -1;
    }
    ssize_t n = read((int)(word >> 1), out, (size_t)outl);
    if (n > 0) {
        if (n < outl) BIO_set_data(b, (void *)(word | 1));
        return (int)n;
    }
    if (n == 0) {
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // BIO_eof: OpenSSL's end-of-stream rules
        return 0;
    }
    if (BIO_sock_should_retry(-1)) BIO_set_retry_read(b);
    return -1;
}
static long cap_bio_socket_reads_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    switch (cmd) {
    case BIO_C_GET_FD:
        if (ptr != NULL) *(int *)ptr = (int)((uintptr_t)BIO_get_data(b) >> 1);
        return (long)((uintptr_t)BIO_get_data(b) >> 1);
    case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_CTRL_FLUSH: return 1;
    default: return 0;  // kernel TLS's receive keys (BIO_CTRL_SET_KTLS, ..._GET_KTLS_RECV) included
    }
}
static inline BIO_METHOD *cap_bio_socket_reads_method(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "capuchin socket reads");
    if (m == NULL) return NULL;
    BIO_meth_set_read(m, cap_bio_socket_read);
    BIO_meth_set_ctrl(m, cap_bio_socket_reads_ctrl);
    return m;
}
static inline BIO *cap_bio_new_socket_reads(BIO_METHOD *m, int fd) {
    BIO *b = BIO_new(m);
    if (b == NULL) return NULL;
    BIO_set_data(b, (void *)((uintptr_t)(unsigned)fd << 1));
    BIO_set_init(b, 1);
    return b;
}
// The event loop saw the socket readable (or hung up): the next read calls read(2).
static inline void cap_bio_socket_reads_signalled(BIO *b) {
    if (b != NULL) BIO_set_data(b, (void *)((uintptr_t)BIO_get_data(b) & ~(uintptr_t)1));
}

// Constants Swift does not import (macros of expressions).
static inline int cap_tls1_2_version(void) { return TLS1_2_VERSION; }
static inline uint64_t cap_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t cap_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t cap_op_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA; }
static inline uint64_t cap_op_ignore_unexpected_eof(void) { return SSL_OP_IGNORE_UNEXPECTED_EOF; }
static inline long cap_mode_event_loop(void) {
    return SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
}

#endif
