// SPDX-License-Identifier: GPL-2.0
/* Writes the server's copy of event.h's lists as TypeScript, so they are derived, never retyped:
 *   event-ts fields   server/tracer/event-fields.ts   (struct pj_event's fields and widths)
 *   event-ts names    server/protocol/probe-names.ts  (hook, direction and netfilter hook names)
 * `make -C probes` runs it; server/tracer/probe-event.test.ts fails when the committed files differ.
 * The text is laid out as prettier lays it out (printWidth 120), so `prettier --check` passes. */
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include "event.h"

#define WIDTH 120

static void header(const char *doc)
{
	printf("// Generated from probes/event.h by `make -C probes` (probes/event-ts.c): edit event.h, not this file.\n"
	       "// %s\n",
	       doc);
}

/* `export const NAME = ['a', 'b'] as const;` on one line if it fits, else one item per line. */
static void print_list(const char *doc, const char *name, const char *const *items, size_t n)
{
	size_t len = strlen("export const  = [] as const;") + strlen(name);
	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]) + 2 + (i ? 2 : 0);
	printf("\n/** %s */\nexport const %s = [", doc, name);
	for (size_t i = 0; i < n; i++) {
		if (len <= WIDTH)
			printf("%s'%s'", i ? ", " : "", items[i]);
		else
			printf("\n  '%s',", items[i]);
	}
	printf("%s] as const;\n", len <= WIDTH ? "" : "\n");
}

static void print_fields(void)
{
	header("server/tracer/probe-event.test.ts fails when this differs from what event.h generates.");
	printf("\n/** The fields of struct pj_event and their widths in bytes, in struct order: the loader's ready record\n"
	       " * must declare each of them at this width, or the server refuses it (ndjson.ts). */\n"
	       "export const EVENT_FIELDS = {\n");
#define PRINT_FIELD(type, name, dim) printf("  " #name ": %zu,\n", sizeof(((struct pj_event *)0)->name));
	PJ_EVENT_FIELDS(PRINT_FIELD)
#undef PRINT_FIELD
	printf("} as const;\n");
}

#define NAME_OF(constant, code, name) #name,
#define NF_NAME_OF(constant, code, name) code >= PJ_HOOK_FIRST_NF && code <= PJ_HOOK_LAST_NF ? #name : NULL,

static void print_names(void)
{
	static const char *const hooks[] = { PJ_HOOKS(NAME_OF) };
	static const char *const nf_or_null[] = { PJ_HOOKS(NF_NAME_OF) };
	static const char *const dirs[] = { PJ_DIRS(NAME_OF) };
	static const char *const nf_hooks[] = { PJ_NF_HOOKS(NAME_OF) };
	const char *nf_links[sizeof(hooks) / sizeof(hooks[0])];
	size_t n_nf = 0;
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (nf_or_null[i])
			nf_links[n_nf++] = nf_or_null[i];
	header("The probe's vocabulary, shared by server and app (isomorphic: no imports). The loader's ready\n"
	       "// record maps the event's codes to these names, and the server refuses a name missing here.");
	print_list("Where the probe saw an event (enum pj_hook, in code order).", "HOOK_NAMES", hooks,
		   sizeof(hooks) / sizeof(hooks[0]));
	print_list("The hooks that are netfilter links: their events carry the netfilter hook they ran at.",
		   "NETFILTER_LINK_HOOKS", nf_links, n_nf);
	print_list("A device event's direction (enum pj_dir).", "DIR_NAMES", dirs, sizeof(dirs) / sizeof(dirs[0]));
	print_list("Netfilter hooks, by NF_INET_* value (enum pj_nf_hook).", "NF_HOOK_NAMES", nf_hooks,
		   sizeof(nf_hooks) / sizeof(nf_hooks[0]));
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "fields"))
		print_fields();
	else if (argc == 2 && !strcmp(argv[1], "names"))
		print_names();
	else {
		fprintf(stderr, "usage: event-ts fields|names\n");
		return 2;
	}
	return 0;
}
