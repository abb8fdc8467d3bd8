/* Leak check at exit (POOLDBG_OPTIONS=leaks=1): a leaked 3-node linked list
 * (the head is a direct leak, the two nodes it points to are indirect), a
 * leaked 100-byte block, and a 64-byte block still reachable from a global
 * (not a leak). Everything else is freed. Stdout is left buffered so the
 * test can check that the program's output survives the leak report.
 *
 * usage: leaks
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

struct node {
    struct node *next;
    char payload[40];
}; /* 48 bytes */

static void *reachable;

NOINLINE struct node *make_node(struct node *next)
{
    struct node *n = malloc(sizeof *n);
    memset(n, 'n', sizeof *n);
    n->next = next;
    return n;
}

NOINLINE void make_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 3; i++)
        head = make_node(head);
    head = NULL; /* the only pointer to the list is gone */
}

NOINLINE void leak_block(void)
{
    char *p = malloc(100);
    memset(p, 'l', 100);
    p = NULL;
}

NOINLINE void keep_global(void) { reachable = malloc(64); }

NOINLINE void temporary(void)
{
    char *p = malloc(200);
    memset(p, 't', 200);
    free(p);
}

int main(void)
{
    make_list();
    leak_block();
    keep_global();
    temporary();
    printf("leaks: program output line 1\n");
    printf("leaks: program output line 2 (still buffered at exit)\n");
    return 0;
}
