/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Ownership helpers: cleanup attributes and explicit ownership transfer,
 * in the spirit of systemd's macro.h (written afresh for dmwarden). */

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _sentinel_ __attribute__((sentinel))
#define _pure_ __attribute__((pure))
#define _fallthrough_ __attribute__((fallthrough))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Each argument is evaluated once. */
#define MAX(a, b)                                               \
        ({                                                      \
                const __typeof__(a) _max_a = (a);               \
                const __typeof__(b) _max_b = (b);               \
                _max_a > _max_b ? _max_a : _max_b;              \
        })
#define MIN(a, b)                                               \
        ({                                                      \
                const __typeof__(a) _min_a = (a);               \
                const __typeof__(b) _min_b = (b);               \
                _min_a < _min_b ? _min_a : _min_b;              \
        })

/* For event and bus callbacks: the userdata they were registered with is
 * never NULL, and saying so once at the top beats a crash further down.
 * `Manager *m = ASSERT_PTR(userdata);` */
#define ASSERT_PTR(p)                                           \
        ({                                                      \
                __typeof__(p) _assert_p = (p);                  \
                assert(_assert_p);                              \
                _assert_p;                                      \
        })

/* Whether x equals any of the values (evaluated once each). */
#define IN_SET(x, first, ...)                                                   \
        ({                                                                      \
                const __typeof__(first) _in_x = (x);                            \
                const __typeof__(first) _in_set[] = { first, __VA_ARGS__ };     \
                bool _in_found = false;                                         \
                for (size_t _in_i = 0; _in_i < ELEMENTSOF(_in_set); _in_i++)    \
                        if (_in_set[_in_i] == _in_x) {                          \
                                _in_found = true;                               \
                                break;                                          \
                        }                                                       \
                _in_found;                                                      \
        })

/* Return the value of *p and reset *p to its "empty" value, so the cleanup
 * attribute on the old owner does nothing. */
#define TAKE_GENERIC(var, null_value)                   \
        ({                                              \
                __typeof__(var) *_pvar_ = &(var);       \
                __typeof__(var) _val_ = *_pvar_;        \
                *_pvar_ = (null_value);                 \
                _val_;                                  \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, -EBADF)

/* Define a cleanup helper for a free function that takes a pointer and
 * accepts NULL: `DEFINE_TRIVIAL_CLEANUP_FUNC(Foo *, foo_free)` gives
 * `foo_freep(Foo **)`. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

/* Defines `const char *prefix_to_string(type)` over a name table indexed by
 * the enum, NULL for values outside [0, max). */
#define DEFINE_ENUM_TO_STRING(prefix, type, table, max)                 \
        const char *prefix##_to_string(type v) {                       \
                return v >= 0 && v < (max) ? (table)[v] : NULL;         \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

#define streq(a, b) (strcmp((a), (b)) == 0)
/* streq() that takes NULL: equal when both are. */
static inline bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}
#define strcaseeq(a, b) (strcasecmp((a), (b)) == 0)
#define isempty(s) (!(s) || !*(s))

/* Turn a libc-style failure (-1 with errno) into a negative errno. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
