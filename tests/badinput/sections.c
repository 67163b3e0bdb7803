/* sections.c - prints where a trace may be cut to test truncation: for
 * every section its start, a point inside its header, a point inside its
 * payload and its end, each with the number of snapshots complete before
 * that offset (a SNAPSHOT_END section counts once it has ended). One
 * "OFFSET COMPLETE" pair a line. Trusts its input: it reads traces the
 * shim has just written.   sections TRACE */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg_trace.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sections TRACE\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    struct lg_file_header fh;
    if (fread(&fh, sizeof fh, 1, f) != 1) {
        fprintf(stderr, "%s: short file\n", argv[1]);
        return 1;
    }
    uint64_t off = fh.header_size, complete = 0;
    struct lg_section_header h;
    printf("%u 0\n", (unsigned)(off / 2));
    while (fseek(f, (long)off, SEEK_SET) == 0 && fread(&h, sizeof h, 1, f) == 1) {
        uint64_t end = off + sizeof h + h.length;
        unsigned long long c = complete;
        printf("%llu %llu\n", (unsigned long long)off, c);             /* at its start */
        printf("%llu %llu\n", (unsigned long long)(off + 5), c);       /* inside its header */
        if (h.length > 1)                                               /* inside its payload */
            printf("%llu %llu\n", (unsigned long long)(off + sizeof h + h.length / 2), c);
        printf("%llu %llu\n", (unsigned long long)(end - 1), c);       /* one byte short */
        if (h.tag == LG_SEC_SNAPSHOT_END)
            complete++;
        off = end;
    }
    fclose(f);
    return 0;
}
