/* churn.c — multi-threaded allocation churn through malloc/free, for
 * comparing allocators under LD_PRELOAD.  See churn_common.h for usage and
 * the output line.  Build: cc -O2 -pthread -o churn churn.c */
#include <stddef.h>
#include <stdlib.h>

static const char *PROG = "churn";

static unsigned char *obj_alloc(size_t n) { return (unsigned char *)malloc(n); }
static void obj_free(unsigned char *p, size_t n) {
    (void)n;
    free(p);
}

#include "churn_common.h"
