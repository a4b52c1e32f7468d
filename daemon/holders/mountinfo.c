/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing /proc/PID/mountinfo text into a MountTable, and the small pieces
 * of MountTable every source shares. No I/O here, so fixtures can test it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "basic/macro.h"
#include "holders/mount-table.h"

static const char *const mount_source_names[_MOUNT_SOURCE_MAX] = {
        [MOUNT_SOURCE_AUTO] = "auto",
        [MOUNT_SOURCE_LISTMOUNT] = "listmount",
        [MOUNT_SOURCE_MOUNTINFO] = "mountinfo",
};

const char *mount_source_to_string(MountSource s) {
        return s >= 0 && s < _MOUNT_SOURCE_MAX ? mount_source_names[s] : NULL;
}

MountSource mount_source_from_string(const char *s) {
        for (MountSource i = 0; i < _MOUNT_SOURCE_MAX; i++)
                if (s && strcmp(s, mount_source_names[i]) == 0)
                        return i;
        return -EINVAL;
}

void mount_entry_done(MountEntry *e) {
        free(e->root);
        free(e->mount_point);
        free(e->fstype);
        free(e->source);
}

void mount_table_done(MountTable *t) {
        for (size_t i = 0; i < t->n_entries; i++)
                mount_entry_done(&t->entries[i]);
        free(t->entries);
        *t = (MountTable) {};
}

int nsfs_name_parse(const char *s, const char *type, uint64_t *ret) {
        size_t l = strlen(type);
        unsigned long long v;
        char *end;

        if (strncmp(s, type, l) != 0 || s[l] != ':' || s[l + 1] != '[')
                return -EINVAL;
        s += l + 2;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || strcmp(end, "]") != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Field n of a mountinfo line, with the kernel's octal escapes (\040 for a
 * blank, \011, \012, \134) undone. */
static char *unescape_field(const char *s, size_t n) {
        char *out = malloc(n + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n &&
                    s[i + 1] >= '0' && s[i + 1] <= '3' &&
                    s[i + 2] >= '0' && s[i + 2] <= '7' &&
                    s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) (((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

/* Splits [line, end) at blanks; returns the number of fields found (at most
 * max). The kernel escapes blanks inside fields, so a blank always splits. */
static size_t split_fields(const char *line, const char *end, const char **starts, size_t *lengths, size_t max) {
        size_t n = 0;
        const char *p = line;

        while (p < end && n < max) {
                const char *q = memchr(p, ' ', (size_t) (end - p));

                if (!q)
                        q = end;
                starts[n] = p;
                lengths[n] = (size_t) (q - p);
                n++;
                p = q + 1;
        }
        return n;
}

int mount_table_add(MountTable *t, MountEntry *e) {
        MountEntry *grown = reallocarray(t->entries, t->n_entries + 1, sizeof(MountEntry));

        if (!grown)
                return -ENOMEM;
        t->entries = grown;
        t->entries[t->n_entries++] = *e;
        *e = (MountEntry) {};
        return 0;
}

/* One line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS".
 * Returns 1 if kept, 0 if skipped or malformed (a malformed line is skipped:
 * one bad line must not hide the others). */
static int parse_line(const char *line, const char *end, dev_t dev, MountTable *t) {
        _cleanup_(mount_entry_done) MountEntry entry = {};
        const char *starts[64];
        size_t lengths[64], n, sep;
        unsigned long long id;
        unsigned maj, min;
        char devbuf[32], *e;
        bool is_nsfs;
        int r;

        n = split_fields(line, end, starts, lengths, ELEMENTSOF(starts));
        if (n < 10 || lengths[2] >= sizeof(devbuf))
                return 0;
        memcpy(devbuf, starts[2], lengths[2]);
        devbuf[lengths[2]] = 0;
        if (sscanf(devbuf, "%u:%u", &maj, &min) != 2)
                return 0;

        for (sep = 6; sep < n; sep++)
                if (lengths[sep] == 1 && starts[sep][0] == '-')
                        break;
        if (sep + 3 > n)
                return 0;
        is_nsfs = lengths[sep + 1] == 4 && memcmp(starts[sep + 1], "nsfs", 4) == 0;
        if (makedev(maj, min) != dev && !is_nsfs)
                return 0;

        errno = 0;
        id = strtoull(starts[0], &e, 10);
        if (errno != 0 || e != starts[0] + lengths[0])
                return 0;

        entry.id = id;
        entry.dev = makedev(maj, min);
        entry.root = unescape_field(starts[3], lengths[3]);
        entry.mount_point = unescape_field(starts[4], lengths[4]);
        entry.fstype = unescape_field(starts[sep + 1], lengths[sep + 1]);
        entry.source = unescape_field(starts[sep + 2], lengths[sep + 2]);
        if (!entry.root || !entry.mount_point || !entry.fstype || !entry.source)
                return -ENOMEM;
        /* A pin of some other namespace type is not ours to follow. */
        if (is_nsfs && nsfs_name_parse(entry.root, "mnt", &entry.pinned_mntns) < 0)
                return 0;

        r = mount_table_add(t, &entry);
        return r < 0 ? r : 1;
}

int mount_table_parse_mountinfo(const char *buf, size_t size, dev_t dev, MountTable *t) {
        const char *p = buf, *end = buf + size;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                int r;

                if (!nl)
                        nl = end;
                r = parse_line(p, nl, dev, t);
                if (r < 0)
                        return r;
                p = nl + 1;
        }
        return 0;
}
