/* demo.c - a dinner-party seating plan with two classic heap bugs.
 *
 * It keeps the guests in a linked list, can cancel a guest, and prints a
 * place card for everyone.  Run natively it "works": both bugs corrupt
 * memory that nobody looks at again, so nothing visible happens.
 *
 *   ./demo                 prints the place cards.  make_card() allocates
 *                          strlen(name) bytes and strcpy()s the name: the
 *                          terminating NUL lands one byte past the block.
 *   ./demo --cancel NAME   first removes NAME from the list.  cancel_guest()
 *                          frees the node and then reads node->next.
 *
 * Build: gcc -O0 -g -rdynamic -o demo demo.c  (-rdynamic and non-static
 * functions let the report name each frame) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct guest {
    char *name;
    int table;
    int seat;
    struct guest *next;
};

static const char *const invited[] = {
    "Sir Charles Antony Richard Hoare", /* 32 characters */
    "Ada Lovelace",
    "Edsger W. Dijkstra",
    "Grace Hopper",
    "Barbara Liskov",
    "Donald Knuth",
    "Frances Allen",
};

struct guest *add_guest(struct guest *head, const char *name, int n)
{
    struct guest *g = malloc(sizeof *g);
    g->name = strdup(name);
    g->table = 1 + n / 4;
    g->seat = 1 + n % 4;
    g->next = NULL;
    if (!head) return g;
    struct guest *last = head;
    while (last->next) last = last->next;
    last->next = g;
    return head;
}

void cancel_guest(struct guest **head, const char *name)
{
    for (struct guest **pp = head; *pp; pp = &(*pp)->next) {
        struct guest *g = *pp;
        if (strcmp(g->name, name) == 0) {
            free(g->name);
            free(g);
            *pp = g->next; /* BUG: use after free - g was freed above */
            printf("cancelled: %s\n", name);
            return;
        }
    }
    printf("no such guest: %s\n", name);
}

char *make_card(const struct guest *g)
{
    char *card = malloc(strlen(g->name)); /* BUG: no room for the NUL */
    strcpy(card, g->name);
    for (char *c = card; *c; c++) *c = (char)toupper((unsigned char)*c);
    return card;
}

int main(int argc, char **argv)
{
    struct guest *list = NULL;
    int n = 0;
    setvbuf(stdout, NULL, _IOLBF, 0); /* show each line before a crash, even into a pipe */
    for (size_t i = 0; i < sizeof invited / sizeof invited[0]; i++) list = add_guest(list, invited[i], n++);

    if (argc == 3 && strcmp(argv[1], "--cancel") == 0) cancel_guest(&list, argv[2]);

    for (struct guest *g = list; g; g = g->next) {
        char *card = make_card(g);
        printf("table %d, seat %d: %s\n", g->table, g->seat, card);
        free(card);
    }
    while (list) {
        struct guest *next = list->next;
        free(list->name);
        free(list);
        list = next;
    }
    return 0;
}
