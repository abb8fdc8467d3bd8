/* Smoke program for gdb: run to a breakpoint in stop_here() and print
 * locals, a heap string and a struct (scripts/smoke.sh, t_gdb). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct point {
    int x, y;
    const char *label;
};

__attribute__((noinline)) int stop_here(struct point *p, const char *text, int n)
{
    int answer = p->x * p->y + n;
    printf("stop_here: %s %d\n", text, answer);
    return answer;
}

int main(void)
{
    char *text = malloc(32);
    strcpy(text, "heap text");
    struct point *p = malloc(sizeof *p);
    p->x = 6;
    p->y = 7;
    p->label = "origin";
    int r = stop_here(p, text, 100);
    free(p);
    free(text);
    return r == 142 ? 0 : 1;
}
