// Allocation / deallocation pairs that do not match, sized delete with the
// wrong size, and allocation failure in C++.
//
// usage: mismatch MODE
//   malloc_delete   malloc, then delete
//   new_free        new, then free
//   newarr_delete   new[], then delete
//   new_deletearr   new, then delete[]
//   sized_wrong     ::operator new(24), then ::operator delete(p, 32)
//   sized_array_wrong ::operator new[](24), then ::operator delete[](p, 16)
//   new_realloc     new, then realloc
//   delete_twice    new, then delete twice
//   bad_alloc       new char[huge] must throw std::bad_alloc (exit 0)
//   nothrow         new (std::nothrow) char[huge] must return nullptr (exit 0)
// Prints "ADDR 0x<block>" before the bad release, "SURVIVED" after it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#define NOINLINE __attribute__((noinline))

struct Obj {
    char bytes[32];
};

extern "C" {

NOINLINE void *alloc_malloc(size_t n) { return malloc(n); }
NOINLINE Obj *alloc_new() { return new Obj(); }
NOINLINE char *alloc_new_array(size_t n) { return new char[n]; }
NOINLINE void *alloc_raw_new(size_t n) { return ::operator new(n); }

NOINLINE void release_delete(Obj *p) { delete p; }
NOINLINE void release_free(void *p) { free(p); }
NOINLINE void release_delete_array(Obj *p) { delete[] p; }
NOINLINE void *realloc_block(void *p, size_t n) { return realloc(p, n); }
NOINLINE void release_sized(void *p, size_t n) { ::operator delete(p, n); }
NOINLINE void *alloc_raw_new_array(size_t n) { return ::operator new[](n); }
NOINLINE void release_sized_array(void *p, size_t n) { ::operator delete[](p, n); }

NOINLINE int try_huge_new(size_t n)
{
    try {
        char *p = new char[n];
        printf("new of %zu bytes returned %p\n", n, (void *)p);
        return 1;
    } catch (const std::bad_alloc &) {
        printf("caught std::bad_alloc\n");
        return 0;
    }
}

NOINLINE int try_huge_nothrow(size_t n)
{
    char *p = new (std::nothrow) char[n];
    if (p) {
        printf("nothrow new of %zu bytes returned %p\n", n, (void *)p);
        return 1;
    }
    printf("nothrow new returned nullptr\n");
    return 0;
}

} // extern "C"

static void show(const void *p) { printf("ADDR %p\n", p); }

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODE\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, nullptr, _IONBF, 0);
    const char *mode = argv[1];
    // Far beyond any size class, but not so big that the compiler sees it.
    size_t huge = (size_t)strtoull("0x4000000000000", nullptr, 0) * (argc > 2 ? 2 : 1);

    if (!strcmp(mode, "malloc_delete")) {
        Obj *p = static_cast<Obj *>(alloc_malloc(sizeof(Obj)));
        show(p);
        release_delete(p);
    } else if (!strcmp(mode, "new_free")) {
        Obj *p = alloc_new();
        show(p);
        release_free(p);
    } else if (!strcmp(mode, "newarr_delete")) {
        Obj *p = reinterpret_cast<Obj *>(alloc_new_array(sizeof(Obj)));
        show(p);
        release_delete(p);
    } else if (!strcmp(mode, "new_deletearr")) {
        Obj *p = alloc_new();
        show(p);
        release_delete_array(p);
    } else if (!strcmp(mode, "sized_wrong")) {
        void *p = alloc_raw_new(24);
        show(p);
        release_sized(p, 32);
    } else if (!strcmp(mode, "sized_array_wrong")) {
        void *p = alloc_raw_new_array(24);
        show(p);
        release_sized_array(p, 16);
    } else if (!strcmp(mode, "new_realloc")) {
        Obj *p = alloc_new();
        show(p);
        realloc_block(p, 64);
    } else if (!strcmp(mode, "delete_twice")) {
        Obj *p = alloc_new();
        show(p);
        release_delete(p);
        release_delete(p);
    } else if (!strcmp(mode, "bad_alloc")) {
        return try_huge_new(huge);
    } else if (!strcmp(mode, "nothrow")) {
        return try_huge_nothrow(huge);
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    printf("SURVIVED\n");
    return 0;
}
