// Declarations Glibc's Swift overlay lacks: epoll, accept4, sendfile, openat2,
// eventfd, gettid. Each is a thin static inline so Swift sees a plain function.
#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

static inline int cap_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int cap_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

/// Waits and copies events into parallel arrays, so Swift need not know the
/// packed layout of struct epoll_event.
static inline int cap_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) { events[i] = evs[i].events; data[i] = evs[i].data.u64; }
    return n;
}

static const uint32_t CAP_EPOLLIN = EPOLLIN;
static const uint32_t CAP_EPOLLOUT = EPOLLOUT;
static const uint32_t CAP_EPOLLERR = EPOLLERR;
static const uint32_t CAP_EPOLLHUP = EPOLLHUP;
static const uint32_t CAP_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t CAP_EPOLLET = EPOLLET;
static const uint32_t CAP_EPOLLONESHOT = EPOLLONESHOT;
static const uint32_t CAP_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;
static const int CAP_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int CAP_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int CAP_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

int cap_accept4(int fd, struct sockaddr *addr, socklen_t *len);

static inline int cap_socket_nonblock(int domain, int type) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/// writev with MSG_MORE (sendmsg): a response head written just before its
/// body is sendfile'd waits for the body's first segment rather than leaving
/// in a small segment of its own (TCP_NODELAY is on), as TCP_CORK would.
static inline ssize_t cap_writev_more(int fd, const struct iovec *iov, int count) {
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = (size_t)count;
    return sendmsg(fd, &m, MSG_MORE);
}

static inline ssize_t cap_sendfile(int out_fd, int in_fd, off_t *offset, size_t count) {
    return sendfile(out_fd, in_fd, offset, count);
}

// The calling thread's id (gettid needs _GNU_SOURCE): nice is per thread.
static inline int cap_gettid(void) { return (int)syscall(SYS_gettid); }

static inline int cap_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

// Names the calling thread (its first 15 bytes: `top -H`, /proc/PID/task/TID/comm).
void cap_set_thread_name(const char *name);

/// openat2 with RESOLVE_BENEATH (and optionally RESOLVE_NO_SYMLINKS): the kernel
/// refuses any path that leaves dirfd. Returns -1 with errno set on failure
/// (ENOSYS on kernels before 5.6).
int cap_openat2_beneath(int dirfd, const char *path, int flags, int no_symlinks);

static inline int cap_errno(void) { return errno; }
static inline void cap_set_errno(int e) { errno = e; }

/// Kernel TLS (KernelTLSSocket): <linux/tls.h>'s TLS_TX, and one record of
/// `type` sent with a TLS_SET_RECORD_TYPE control message (as OpenSSL's
/// ktls_send_ctrl_message builds it).
static const int CAP_TLS_TX = 1;
static const int CAP_SOL_TLS = 282;
static inline ssize_t cap_send_tls_record(int fd, unsigned char type, const void *data, size_t length) {
    union { struct cmsghdr header; char bytes[CMSG_SPACE(sizeof(unsigned char))]; } control;
    struct msghdr m;
    struct iovec v = { (void *)data, length };
    memset(&m, 0, sizeof m);
    memset(&control, 0, sizeof control);
    m.msg_iov = &v;
    m.msg_iovlen = 1;
    m.msg_control = control.bytes;
    m.msg_controllen = sizeof control.bytes;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = CAP_SOL_TLS;
    c->cmsg_type = 1;  // TLS_SET_RECORD_TYPE
    c->cmsg_len = CMSG_LEN(sizeof(unsigned char));
    *CMSG_DATA(c) = type;
    m.msg_controllen = c->cmsg_len;
    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const int CAP_SOCK_STREAM = SOCK_STREAM;
static const int CAP_MSG_NOSIGNAL = MSG_NOSIGNAL;

#endif
