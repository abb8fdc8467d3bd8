// Blocks that cross between libpooldbg's operators and a library's own
// (c_tests/detect/foreign_lib.cpp, linked in as one of its builds).
//
// usage: foreign_KIND MODE
//   lib_new_delete        the library's new, the global delete
//   lib_newarr_deletearr  the library's new[], the global delete[]
//   new_lib_delete        the global new, the library's delete
//   newarr_lib_deletearr  the global new[], the library's delete[]
//   all                   the four above, then "SURVIVED" (exit 0)
//   malloc_delete         the program's own malloc, then delete: a real
//                         mismatch in the same process, still reported
// Prints "ADDR 0x<block>" before each release, "SURVIVED" at the end.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fl {
struct Obj {
    char bytes[32];
};
Obj *make_obj();
char *make_chars(size_t n);
void drop_obj(Obj *p);
void drop_chars(char *p);
} // namespace fl

#define NOINLINE __attribute__((noinline))

extern "C" {
NOINLINE void *alloc_malloc(size_t n) { return malloc(n); }
NOINLINE void release_delete(fl::Obj *p) { delete p; }
}

static void show(const void *p) { printf("ADDR %p\n", p); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODE\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IONBF, 0);
    const char *mode = argv[1];
    bool all = !strcmp(mode, "all");
    bool known = all;
    if (all || !strcmp(mode, "lib_new_delete")) {
        fl::Obj *p = fl::make_obj();
        show(p);
        delete p;
        known = true;
    }
    if (all || !strcmp(mode, "lib_newarr_deletearr")) {
        char *p = fl::make_chars(24);
        show(p);
        delete[] p;
        known = true;
    }
    if (all || !strcmp(mode, "new_lib_delete")) {
        fl::Obj *p = new fl::Obj();
        show(p);
        fl::drop_obj(p);
        known = true;
    }
    if (all || !strcmp(mode, "newarr_lib_deletearr")) {
        char *p = new char[24];
        show(p);
        fl::drop_chars(p);
        known = true;
    }
    if (!strcmp(mode, "malloc_delete")) {
        fl::Obj *p = static_cast<fl::Obj *>(alloc_malloc(sizeof(fl::Obj)));
        show(p);
        release_delete(p);
        known = true;
    }
    if (!known) {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    printf("SURVIVED\n");
    return 0;
}
