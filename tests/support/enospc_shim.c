/* A full disk on demand, for tests (LD_PRELOAD): write, pwrite, pwrite64 and writev to a file
 * whose path contains $MUNET_ENOSPC_MATCH fail with ENOSPC once $MUNET_ENOSPC_AFTER bytes have
 * gone to such files, as a full file system does; with $MUNET_STATVFS_FREE, statvfs reports that
 * many bytes available. The tests never need a small mount. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long written;

/* The bytes this call may still write to fd: all of n when fd is not a matching file. */
static size_t allowed(int fd, size_t n) {
  const char* match = getenv("MUNET_ENOSPC_MATCH");
  const char* after = getenv("MUNET_ENOSPC_AFTER");
  if (!match || !after) return n;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = readlink(link, path, sizeof path - 1);
  if (len <= 0) return n;
  path[len] = '\0';
  if (!strstr(path, match)) return n;
  const long long limit = atoll(after), left = limit > written ? limit - written : 0;
  const size_t k = (long long)n < left ? n : (size_t)left;
  written += (long long)k;
  return k;
}

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void*, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
#define REAL(name, type) static type real = NULL; if (!real) real = (type)dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void* buf, size_t n) {
  REAL("write", write_fn);
  const size_t k = allowed(fd, n);
  if (k == 0 && n > 0) { errno = ENOSPC; return -1; }
  return real(fd, buf, k);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  REAL("pwrite", pwrite_fn);
  const size_t k = allowed(fd, n);
  if (k == 0 && n > 0) { errno = ENOSPC; return -1; }
  return real(fd, buf, k, off);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t off) {
  REAL("pwrite64", pwrite64_fn);
  const size_t k = allowed(fd, n);
  if (k == 0 && n > 0) { errno = ENOSPC; return -1; }
  return real(fd, buf, k, off);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  REAL("writev", writev_fn);
  size_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  const size_t k = allowed(fd, n);
  if (k == 0 && n > 0) { errno = ENOSPC; return -1; }
  if (k == n) return real(fd, iov, count);
  /* A short write: only the first k bytes, as the kernel does when the disk fills. */
  struct iovec part[64];
  int m = 0;
  for (size_t left = k; m < count && m < 64 && left > 0; ++m) {
    part[m] = iov[m];
    if (part[m].iov_len > left) part[m].iov_len = left;
    left -= part[m].iov_len;
  }
  return real(fd, part, m);
}

typedef int (*statvfs_fn)(const char*, struct statvfs*);
int statvfs(const char* path, struct statvfs* out) {
  REAL("statvfs", statvfs_fn);
  const int rc = real(path, out);
  const char* free_bytes = getenv("MUNET_STATVFS_FREE");
  if (rc == 0 && free_bytes) out->f_bavail = (fsblkcnt_t)(atoll(free_bytes) / (long long)out->f_frsize);
  return rc;
}
