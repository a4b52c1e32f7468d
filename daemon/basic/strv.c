/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        for (char *const *i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

int strv_consume(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **grown;

        grown = reallocarray(*l, n + 2, sizeof(char *));
        if (!grown) {
                free(value);
                return -ENOMEM;
        }
        grown[n] = value;
        grown[n + 1] = NULL;
        *l = grown;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        return strv_consume(l, copy);
}

int strv_copy(char *const *l, char ***ret) {
        _cleanup_strv_free_ char **copy = NULL;
        int r;

        copy = calloc(1, sizeof(char *));
        if (!copy)
                return -ENOMEM;
        for (char *const *i = l; i && *i; i++) {
                r = strv_extend(&copy, *i);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(copy);
        return 0;
}
