/* alignopts.c — an explicit alignment is honoured whatever the options say.
 *
 * Usage: alignopts [plain-exact | plain-below | none]
 * posix_memalign, aligned_alloc, memalign and aligned operator new (looked
 * up with dlsym, so this C program needs no C++ runtime) must return
 * addresses aligned as asked, also under alignment=1 and protect_below=1,
 * which apply to plain malloc/calloc/realloc/new only. The argument says
 * what the options should do to a plain malloc(13):
 *   plain-exact  (alignment=1) it ends exactly at a page boundary;
 *   plain-below  (protect_below=1) it starts at a page boundary;
 *   none         nothing is checked of plain blocks.
 * Prints one line per failure; exit 1 if any, 0 otherwise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect_aligned(const char *what, void *p, size_t align, size_t size) {
    if (!p) {
        printf("FAIL %s: NULL\n", what);
        failures++;
        return;
    }
    if ((uintptr_t)p % align != 0) {
        printf("FAIL %s: %p is not aligned to %zu (≡ %zu)\n", what, p, align, (size_t)((uintptr_t)p % align));
        failures++;
    }
    memset(p, 0x5a, size); /* every byte usable */
}

int main(int argc, char **argv) {
    const char *plain = argc > 1 ? argv[1] : "none";
    static const size_t aligns[] = {8, 16, 32, 64, 4096, 8192, 65536};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        size_t a = aligns[i];
        char what[64];
        for (size_t size = 1; size <= 200; size += 99) {
            void *p = NULL;
            snprintf(what, sizeof what, "posix_memalign(%zu, %zu)", a, size);
            if (posix_memalign(&p, a, size) != 0)
                p = NULL;
            expect_aligned(what, p, a, size);
            free(p);
            snprintf(what, sizeof what, "aligned_alloc(%zu, %zu)", a, size);
            p = aligned_alloc(a, size);
            expect_aligned(what, p, a, size);
            free(p);
            snprintf(what, sizeof what, "memalign(%zu, %zu)", a, size);
            p = memalign(a, size);
            expect_aligned(what, p, a, size);
            free(p);
        }
    }
    void *(*new_aligned)(size_t, size_t) = (void *(*)(size_t, size_t))dlsym(RTLD_DEFAULT, "_ZnwmSt11align_val_t");
    void (*delete_aligned)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "_ZdlPvSt11align_val_t");
    if (new_aligned && delete_aligned) {
        for (size_t a = 16; a <= 8192; a *= 8) {
            void *p = new_aligned(13, a);
            expect_aligned("operator new(13, align_val_t)", p, a, 13);
            delete_aligned(p, a);
        }
    } else {
        printf("FAIL aligned operator new not found (is the library preloaded?)\n");
        failures++;
    }
    char *p = malloc(13);
    if (!strcmp(plain, "plain-exact") && ((uintptr_t)(p + 13)) % 4096 != 0) {
        printf("FAIL malloc(13) with alignment=1 ends at %p, not at a page boundary\n", (void *)(p + 13));
        failures++;
    }
    if (!strcmp(plain, "plain-below") && (uintptr_t)p % 4096 != 0) {
        printf("FAIL malloc(13) with protect_below=1 starts at %p, not at a page boundary\n", (void *)p);
        failures++;
    }
    free(p);
    printf("alignopts: %d failures\n", failures);
    return failures != 0;
}
