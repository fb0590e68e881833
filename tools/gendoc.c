/*
 * gendoc.c — a build tool, not part of the shipped binary: it links the command and option
 * tables of cmd/ (everything but cmd/main.c) and renders them, so that the man pages and the
 * shell completions say exactly what the parser accepts. `make docs` builds it as $(O)/gendoc
 * and runs tools/gendocs.sh with it:
 *
 *   gendoc man CMD|elog     the man page (groff -man) of a command, or of elog itself
 *   gendoc bash|zsh|fish    a completion script
 *   gendoc commands         the command names, one a line (for tools/gendocs.sh)
 *
 * The completion scripts call `elog __complete components` (cmd/complete.c) for live names.
 * Output is deterministic: no dates, the version is ELOG_VERSION (the VERSION file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/record.h"
#include "common/util.h"

#ifndef ELOG_VERSION
#define ELOG_VERSION "0.0.0"
#endif


static const char elog_description[] =
	"elog keeps, shows and ships the logs of every process on a box. One binary, one "
	"history: elog serve runs the hub, a gRPC server that takes logs from programs, from "
	"shell scripts (elog send) and from other log shippers, commits them to a SQLite "
	"history file and streams them live to whoever follows; elog logs shows them as one "
	"color-coded stream, elog export writes them out as JSON Lines or CSV.\n"
	"A command may be given by any unique prefix of its name (elog lo is elog logs); a "
	"mistyped command is answered with the closest name. elog help COMMAND and "
	"elog COMMAND --help show a command's options; each command has its own manual page.";

/* ---- roff ---------------------------------------------------------------------------- */

static int at_line_start(const struct elog_buf *b)
{
	return b->len == 0 || b->data[b->len - 1] == '\n';
}

/* Appends s[0..n) as roff text: '\' as \e, '-' as \-, quotes as \(aq and \(ga (so commands
 * copy and paste), a '.' or '\'' that would start a line guarded by \&, and non-ASCII UTF-8
 * as \[uXXXX]. Newlines are kept. */
static void roff_n(struct elog_buf *b, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if ((c == '.' || c == '\'') && at_line_start(b))
			elog_buf_adds(b, "\\&");
		if (c < 0x80) {
			switch (c) {
			case '\\':
				elog_buf_adds(b, "\\e");
				break;
			case '-':
				elog_buf_adds(b, "\\-");
				break;
			case '\'':
				elog_buf_adds(b, "\\(aq");
				break;
			case '`':
				elog_buf_adds(b, "\\(ga");
				break;
			case '^':
				elog_buf_adds(b, "\\(ha");
				break;
			case '~':
				elog_buf_adds(b, "\\(ti");
				break;
			default:
				elog_buf_addc(b, (char)c);
			}
			i++;
			continue;
		} else {
			unsigned cp = 0xFFFD;
			size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1, k;

			if (len > 1 && i + len <= n) {
				cp = c & (0xFF >> (len + 1));
				for (k = 1; k < len; k++) {
					unsigned char cc = (unsigned char)s[i + k];

					if ((cc & 0xC0) != 0x80)
						break;
					cp = (cp << 6) | (cc & 0x3F);
				}
				if (k < len) {
					cp = 0xFFFD;
					len = k;
				}
			} else {
				len = 1;
			}
			elog_buf_addf(b, "\\[u%04X]", cp);
			i += len;
		}
	}
}

static void roff(struct elog_buf *b, const char *s)
{
	roff_n(b, s, strlen(s));
}

/* A help line as a sentence: first letter upper case, a final period. */
static void roff_sentence(struct elog_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n && s[0] >= 'a' && s[0] <= 'z') {
		elog_buf_addc(b, (char)(s[0] - 'a' + 'A'));
		s++;
		n--;
	}
	roff_n(b, s, n);
	if (n == 0 || s[n - 1] != '.')
		elog_buf_addc(b, '.');
}

static void roff_upper(struct elog_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			elog_buf_adds(b, "\\-");
		else
			elog_buf_addc(b, *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s);
	}
}

/* Paragraphs: one per line of text, separated by .PP. */
static void roff_paragraphs(struct elog_buf *b, const char *text)
{
	const char *p = text;
	int first = 1;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n) {
			if (!first)
				elog_buf_adds(b, ".PP\n");
			roff_n(b, p, n);
			elog_buf_addc(b, '\n');
			first = 0;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* The .TP tag of an option: \fB\-c\fR, \fB\-\-component\fR \fICOMP\fR */
static void roff_option_tag(struct elog_buf *b, const struct option *o)
{
	if (o->short_name)
		elog_buf_addf(b, "\\fB\\-%c\\fR, ", o->short_name);
	elog_buf_adds(b, "\\fB\\-\\-");
	roff(b, o->long_name);
	elog_buf_adds(b, "\\fR");
	if (o->argname && o->type == OPT_OPTIONAL) {
		elog_buf_adds(b, "[=\\fI");
		roff(b, o->argname);
		elog_buf_adds(b, "\\fR]");
	} else if (o->argname) {
		elog_buf_adds(b, " \\fI");
		roff(b, o->argname);
		elog_buf_adds(b, "\\fR");
	}
	elog_buf_addc(b, '\n');
}

static void roff_options(struct elog_buf *b, const struct option *o)
{
	for (; o && o->long_name; o++) {
		elog_buf_adds(b, ".TP\n");
		roff_option_tag(b, o);
		roff_sentence(b, o->help ? o->help : "");
		if (o->type == OPT_LIST)
			elog_buf_adds(b, " May be given more than once.");
		if (o->type == OPT_SIZE)
			elog_buf_adds(b, " A size is bytes, or a number with K, M, G or T (powers of "
				      "1024): 4096, 64K, 64M, 1G.");
		if (o->type == OPT_DURATION || o->type == OPT_DURATION_MS)
			elog_buf_addf(b, " A duration is a number with a unit (ms, s, m, h, d), or "
				      "several: 500ms, 30s, 5m, 1h30m, 7d; a bare number is %s.",
				      o->type == OPT_DURATION ? "seconds" : "milliseconds");
		if (o->env) {
			elog_buf_adds(b, "\nWhen absent, \\fB");
			roff(b, o->env);
			elog_buf_adds(b, "\\fR is read.");
		}
		elog_buf_addc(b, '\n');
	}
}

/* ---- environment and files, collected from the tables -------------------------------- */

struct entry {
	char *name, *text;        /* text is roff already */
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static void entries_add(struct entries *e, const char *name, size_t name_len, char *roff_text)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strlen(e->v[i].name) == name_len && strncmp(e->v[i].name, name, name_len) == 0) {
			free(roff_text);
			return;
		}
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 8;
		e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
	}
	e->v[e->n].name = xstrndup(name, name_len);
	e->v[e->n].text = roff_text;
	e->n++;
}

static void entries_release(struct entries *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].text);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static void env_of_options(struct entries *e, const struct option *o)
{
	for (; o && o->long_name; o++) {
		struct elog_buf t = ELOG_BUF_INIT;

		if (!o->env)
			continue;
		elog_buf_adds(&t, "Used when \\fB\\-\\-");
		roff(&t, o->long_name);
		elog_buf_adds(&t, "\\fR is not given: ");
		roff_n(&t, o->help, strlen(o->help));
		elog_buf_addc(&t, '.');
		entries_add(e, o->env, strlen(o->env), elog_buf_detach(&t));
	}
}

/* "NAME\tmeaning\n" lines (a command's .environment or .files). */
static void entries_of_lines(struct entries *e, const char *lines)
{
	const char *p = lines;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *tab;
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		struct elog_buf t = ELOG_BUF_INIT;

		tab = memchr(p, '\t', n);
		if (n) {
			if (tab) {
				const char *m = tab + 1;
				size_t mn = n - (size_t)(m - p);
				char *s = xstrndup(m, mn);

				roff_sentence(&t, s);
				free(s);
			}
			entries_add(e, p, tab ? (size_t)(tab - p) : n, elog_buf_detach(&t));
		}
		p += n;
		if (*p == '\n')
			p++;
	}
}

static void env_of_command(struct entries *e, const struct command *c)
{
	env_of_options(e, c->options);
	if (c->client) {
		env_of_options(e, client_options);
		entries_add(e, "ELOG_API_KEY", 12, xstrdup(
			"The API key sent to the server (as a bearer token) unless "
			"\\fB\\-\\-api\\-key\\-file\\fR is given. It is only sent over TLS or to a "
			"loopback address."));
	}
	entries_of_lines(e, c->environment);
}

static int has_option(const struct command *c, const char *name)
{
	const struct option *o;

	for (o = c->options; o && o->long_name; o++)
		if (strcmp(o->long_name, name) == 0)
			return 1;
	return 0;
}

static void files_of_command(struct entries *e, const struct command *c)
{
	entries_of_lines(e, c->files);
	if (has_option(c, "db"))
		entries_of_lines(e, "$XDG_STATE_HOME/elog/history.db\tthe default history file "
				 "(~/.local/state/elog/history.db when XDG_STATE_HOME is not set; "
				 "$ELOG_DB overrides it)\n");
}

static void roff_entries(struct elog_buf *b, const char *section, const struct entries *e,
			 const char *font)
{
	size_t i;

	if (e->n == 0)
		return;
	elog_buf_addf(b, ".SH %s\n", section);
	for (i = 0; i < e->n; i++) {
		elog_buf_addf(b, ".TP\n\\f%s", font);
		roff(b, e->v[i].name);
		elog_buf_adds(b, "\\fR\n");
		if (*e->v[i].text)
			elog_buf_addf(b, "%s\n", e->v[i].text);
	}
}

/* ---- man pages ----------------------------------------------------------------------- */

static void roff_header(struct elog_buf *b, const char *page)
{
	elog_buf_adds(b, ".\\\" Generated by 'make docs' (tools/gendoc.c) from the option tables; do not edit.\n"
		      ".\\\" Run 'make docs' to regenerate.\n.TH ");
	roff_upper(b, page);
	elog_buf_adds(b, " 1 \"\" \"elog " ELOG_VERSION "\" \"elog manual\"\n");
}

static void roff_exit_status(struct elog_buf *b)
{
	elog_buf_adds(b, ".SH EXIT STATUS\n"
		      ".TP\n.B 0\nSuccess.\n"
		      ".TP\n.B 1\nFailure: the command could not do what was asked.\n"
		      ".TP\n.B 2\nUsage error: an unknown command or option, a bad option value, "
		      "a missing argument.\n"
		      ".TP\n.B 3\nThe server could not be reached.\n");
}

/* Examples are pairs of lines, "command\nwhat it does\n" (a leading "$ " and the
 * indentation of the second line are dropped). */
static void roff_examples(struct elog_buf *b, const char *ex, int *header_done)
{
	const char *p = ex;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *cmd = p, *what, *wend;
		size_t cn = nl ? (size_t)(nl - p) : strlen(p);
		char *s;

		p += cn;
		if (*p)
			p++;
		what = p;
		wend = strchr(p, '\n');
		if (!wend)
			wend = p + strlen(p);
		p = *wend ? wend + 1 : wend;
		if (cn >= 2 && cmd[0] == '$' && cmd[1] == ' ') {
			cmd += 2;
			cn -= 2;
		}
		while (what < wend && (*what == ' ' || *what == '\t'))
			what++;
		if (cn == 0)
			continue;
		if (!*header_done) {
			elog_buf_adds(b, ".SH EXAMPLES\n");
			*header_done = 1;
		}
		elog_buf_adds(b, ".PP\n");
		if (what < wend) {
			s = xstrndup(what, (size_t)(wend - what));
			if (s[0] >= 'a' && s[0] <= 'z')
				s[0] = (char)(s[0] - 'a' + 'A');
			roff(b, s);
			elog_buf_adds(b, ":\n");
			free(s);
		}
		elog_buf_adds(b, ".RS 4\n.EX\n");
		roff_n(b, cmd, cn);
		elog_buf_adds(b, "\n.EE\n.RE\n");
	}
}

static void roff_see_also(struct elog_buf *b, const struct command *self)
{
	const struct command *const *c;
	int first = 1;

	elog_buf_adds(b, ".SH SEE ALSO\n");
	if (self) {
		elog_buf_adds(b, ".BR elog (1)");
		first = 0;
	}
	for (c = elog_commands; *c; c++) {
		if (*c == self)
			continue;
		if (!first)
			elog_buf_adds(b, ",\n");
		elog_buf_adds(b, ".BR \\%elog\\-");
		roff(b, (*c)->name);
		elog_buf_adds(b, " (1)");
		first = 0;
	}
	elog_buf_addc(b, '\n');
}

static void man_command(struct elog_buf *b, const struct command *c)
{
	struct entries env = { 0 }, files = { 0 };
	char page[128];
	const char *u;
	int ex_header = 0;

	snprintf(page, sizeof(page), "elog-%s", c->name);
	roff_header(b, page);
	elog_buf_adds(b, ".SH NAME\nelog\\-");
	roff(b, c->name);
	elog_buf_adds(b, " \\- ");
	roff(b, c->summary);
	elog_buf_adds(b, "\n.SH SYNOPSIS\n");
	/* One .B line per usage line; the text after it is the usage line of --help. */
	for (u = c->usage; u;) {
		const char *nl = strchr(u, '\n');
		size_t n = nl ? (size_t)(nl - u) : strlen(u), pl = strlen(c->name);

		if (u != c->usage) {
			/* a further usage line: "       elog NAME ARGS" */
			while (n && (*u == ' ' || *u == '\t')) {
				u++;
				n--;
			}
			if (n >= 5 + pl && strncmp(u, "elog ", 5) == 0 &&
			    strncmp(u + 5, c->name, pl) == 0 && (n == 5 + pl || u[5 + pl] == ' ')) {
				u += 5 + pl;
				n -= 5 + pl;
				if (n) {
					u++;
					n--;
				}
			}
			elog_buf_adds(b, ".br\n");
		}
		elog_buf_adds(b, ".B elog ");
		roff(b, c->name);
		elog_buf_addc(b, '\n');
		if (n) {
			roff_n(b, u, n);
			elog_buf_addc(b, '\n');
		}
		u = nl ? nl + 1 : NULL;
	}
	elog_buf_adds(b, ".SH DESCRIPTION\n");
	roff_paragraphs(b, c->description && *c->description ? c->description : c->summary);
	if (c->formats) {
		struct entries fm = { 0 };

		entries_of_lines(&fm, c->formats);
		roff_entries(b, "LINE FORMATS", &fm, "B");
		entries_release(&fm);
	}
	if (c->table) {
		struct entries tb = { 0 };

		entries_of_lines(&tb, c->table);
		roff_entries(b, c->table_title, &tb, "B");
		entries_release(&tb);
	}
	elog_buf_adds(b, ".SH OPTIONS\n");
	roff_options(b, c->options);
	elog_buf_adds(b, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nShow the options and exit.\n");
	if (c->client) {
		elog_buf_adds(b, ".SS \"Client options\"\nHow to reach the hub.\n");
		roff_options(b, client_options);
	}
	roff_exit_status(b);
	env_of_command(&env, c);
	roff_entries(b, "ENVIRONMENT", &env, "B");
	files_of_command(&files, c);
	roff_entries(b, "FILES", &files, "I");
	roff_examples(b, c->examples, &ex_header);
	roff_see_also(b, c);
	entries_release(&env);
	entries_release(&files);
}

static void man_elog(struct elog_buf *b)
{
	const struct command *const *c;
	struct entries env = { 0 }, files = { 0 };
	int ex_header = 0;
	size_t i;

	roff_header(b, "elog");
	elog_buf_adds(b, ".SH NAME\nelog \\- keep, show and ship the logs of every process on a box\n"
		      ".SH SYNOPSIS\n.B elog\n[\\-\\-version] [\\-\\-help] COMMAND [ARGS]\n"
		      ".br\n.B elog help\nCOMMAND\n"
		      ".SH DESCRIPTION\n");
	roff_paragraphs(b, elog_description);
	elog_buf_adds(b, ".SH COMMANDS\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_adds(b, ".TP\n.BR \\%elog\\-");
		roff(b, (*c)->name);
		elog_buf_adds(b, " (1)\n");
		roff_sentence(b, (*c)->summary);
		elog_buf_addc(b, '\n');
	}
	elog_buf_adds(b, ".TP\n\\fBhelp\\fR \\fICOMMAND\\fR\nShow the options of COMMAND.\n"
		      ".SH OPTIONS\n"
		      ".TP\n\\fB\\-\\-version\\fR\nPrint the version and exit.\n"
		      ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nList the commands and exit.\n");
	roff_exit_status(b);
	/* Each variable with the pages of the commands that read it. */
	for (c = elog_commands; *c; c++) {
		struct entries ce = { 0 };
		size_t j;

		env_of_command(&ce, *c);
		for (i = 0; i < ce.n; i++) {
			struct elog_buf t = ELOG_BUF_INIT;

			for (j = 0; j < env.n; j++)
				if (strcmp(env.v[j].name, ce.v[i].name) == 0)
					break;
			if (j == env.n) {
				elog_buf_adds(&t, "Read by");
				entries_add(&env, ce.v[i].name, strlen(ce.v[i].name), xstrdup(""));
			} else {
				elog_buf_adds(&t, env.v[j].text);
				elog_buf_addc(&t, ',');
			}
			elog_buf_adds(&t, "\n.BR \\%elog\\-");
			roff(&t, (*c)->name);
			elog_buf_adds(&t, " (1)");
			free(env.v[j].text);
			env.v[j].text = elog_buf_detach(&t);
		}
		entries_release(&ce);
	}
	for (i = 0; i < env.n; i++) {
		struct elog_buf t = ELOG_BUF_INIT;

		elog_buf_adds(&t, env.v[i].text);
		elog_buf_adds(&t, " .");
		free(env.v[i].text);
		env.v[i].text = elog_buf_detach(&t);
	}
	roff_entries(b, "ENVIRONMENT", &env, "B");
	for (c = elog_commands; *c; c++)
		files_of_command(&files, *c);
	roff_entries(b, "FILES", &files, "I");
	/* The first example of each command. */
	for (c = elog_commands; *c; c++) {
		const char *ex = (*c)->examples, *nl;
		char *two;

		if (!ex || !*ex)
			continue;
		nl = strchr(ex, '\n');
		nl = nl ? strchr(nl + 1, '\n') : NULL;
		two = nl ? xstrndup(ex, (size_t)(nl - ex + 1)) : xstrdup(ex);
		roff_examples(b, two, &ex_header);
		free(two);
	}
	roff_see_also(b, NULL);
	entries_release(&env);
	entries_release(&files);
}

/* ---- completions --------------------------------------------------------------------- */

/* What completes an option's value: NULL (takes none), "text" (anything), or the complete
 * field ("file", "dir", "level", "component", "command", "a|b|c"). */
static const char *value_kind(const struct option *o)
{
	if (o->type == OPT_BOOL)
		return NULL;
	return o->complete ? o->complete : "text";
}

static void levels_words(struct elog_buf *b)
{
	int i;

	for (i = 0; i < ELOG_LEVEL_COUNT; i++)
		elog_buf_addf(b, "%s%s", i ? " " : "", elog_level_name(i));
}

static void command_words(struct elog_buf *b)
{
	const struct command *const *c;

	for (c = elog_commands; *c; c++)
		elog_buf_addf(b, "%s%s", c == elog_commands ? "" : " ", (*c)->name);
}

/* In single quotes for sh/zsh: ' becomes '\'' */
static void sq(struct elog_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			elog_buf_adds(b, "'\\''");
		else
			elog_buf_addc(b, *s);
	}
}

static void bash_options(struct elog_buf *b, const struct option *o)
{
	for (; o && o->long_name; o++)
		elog_buf_addf(b, " --%s", o->long_name);
}

static void bash_args(struct elog_buf *b, const char *cmd, const struct option *o)
{
	for (; o && o->long_name; o++) {
		const char *k = value_kind(o);

		if (!k)
			continue;
		if (o->type == OPT_OPTIONAL)
			elog_buf_addf(b, "\t%s:--%s=", cmd, o->long_name);
		else if (o->short_name)
			elog_buf_addf(b, "\t%s:--%s|%s:-%c", cmd, o->long_name, cmd, o->short_name);
		else
			elog_buf_addf(b, "\t%s:--%s", cmd, o->long_name);
		elog_buf_adds(b, ") echo '");
		sq(b, k);
		elog_buf_adds(b, "' ;;\n");
	}
}

static void gen_bash(struct elog_buf *b)
{
	const struct command *const *c;

	elog_buf_adds(b, "# bash completion for elog(1).\n"
		      "# Generated by 'make docs' (tools/gendoc.c) from the option tables; do not edit.\n"
		      "# Run 'make docs' to regenerate.\n\n_elog_commands='");
	command_words(b);
	elog_buf_adds(b, "'\n_elog_levels='");
	levels_words(b);
	elog_buf_adds(b, "'\n\n# _elog_options CMD: the long options of CMD.\n_elog_options()\n{\n"
		      "\tcase $1 in\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_addf(b, "\t%s) echo '", (*c)->name);
		bash_options(b, (*c)->options);
		if ((*c)->client)
			bash_options(b, client_options);
		elog_buf_adds(b, " --help' ;;\n");
	}
	elog_buf_adds(b, "\tesac\n}\n\n"
		      "# _elog_arg CMD OPT: how the value of OPT completes (file, dir, level, component,\n"
		      "# command, text, or words a|b|c); nothing when OPT takes no value. An option whose\n"
		      "# value is optional is looked up as OPT= (its value only follows an '=').\n"
		      "_elog_arg()\n{\n\tcase $1:$2 in\n");
	for (c = elog_commands; *c; c++) {
		bash_args(b, (*c)->name, (*c)->options);
		if ((*c)->client)
			bash_args(b, (*c)->name, client_options);
	}
	elog_buf_adds(b,
		"\tesac\n}\n\n"
		"# _elog_components ELOG: the component names the server (--server on the line, else\n"
		"# $ELOG_SERVER) or the history (--db on the line, else the default) knows.\n"
		"_elog_components()\n{\n"
		"\tlocal srv= db= re='(^|[[:space:]])(--server[= ]|-s[[:space:]]+)([^[:space:]]+)'\n"
		"\t[[ $COMP_LINE =~ $re ]] && srv=${BASH_REMATCH[3]}\n"
		"\tre='(^|[[:space:]])--db[= ]([^[:space:]]+)'\n"
		"\t[[ $COMP_LINE =~ $re ]] && db=${BASH_REMATCH[2]/#\\~/$HOME}\n"
		"\t\"$1\" __complete components ${srv:+--server \"$srv\"} ${db:+--db \"$db\"} 2>/dev/null\n"
		"}\n\n"
		"_elog()\n{\n"
		"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= kind= opt= i w c\n"
		"\tCOMPREPLY=()\n"
		"\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
		"\t\tw=${COMP_WORDS[i]}\n"
		"\t\tcase $w in\n\t\t-*) ;;\n\t\t*) cmd=$w; break ;;\n\t\tesac\n"
		"\tdone\n"
		"\tif [[ -z $cmd ]]; then\n"
		"\t\tif [[ $cur == -* ]]; then\n"
		"\t\t\tCOMPREPLY=($(compgen -W '--version --help' -- \"$cur\"))\n"
		"\t\telse\n"
		"\t\t\tCOMPREPLY=($(compgen -W \"$_elog_commands help\" -- \"$cur\"))\n"
		"\t\tfi\n"
		"\t\treturn 0\n"
		"\tfi\n"
		"\tif [[ $cmd == help ]]; then\n"
		"\t\tCOMPREPLY=($(compgen -W \"$_elog_commands\" -- \"$cur\"))\n"
		"\t\treturn 0\n"
		"\tfi\n"
		"\t# a unique prefix names a command\n"
		"\tif [[ \" $_elog_commands \" != *\" $cmd \"* ]]; then\n"
		"\t\tw=\n"
		"\t\tfor c in $_elog_commands; do\n"
		"\t\t\t[[ $c == \"$cmd\"* ]] && w=\"$w $c\"\n"
		"\t\tdone\n"
		"\t\tw=${w# }\n"
		"\t\t[[ -n $w && $w != *\" \"* ]] && cmd=$w\n"
		"\tfi\n"
		"\tif [[ $cur == --*=* ]]; then\n"
		"\t\topt=${cur%%=*}; cur=${cur#*=}\n"
		"\t\tkind=$(_elog_arg \"$cmd\" \"$opt=\"); [[ -z $kind ]] && kind=$(_elog_arg \"$cmd\" \"$opt\")\n"
		"\telif [[ $cur == = && $prev == --* ]]; then\n"
		"\t\topt=$prev; cur=\n"
		"\t\tkind=$(_elog_arg \"$cmd\" \"$opt=\"); [[ -z $kind ]] && kind=$(_elog_arg \"$cmd\" \"$opt\")\n"
		"\telif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then\n"
		"\t\topt=${COMP_WORDS[COMP_CWORD-2]}\n"
		"\t\tkind=$(_elog_arg \"$cmd\" \"$opt=\"); [[ -z $kind ]] && kind=$(_elog_arg \"$cmd\" \"$opt\")\n"
		"\telif [[ $prev == -* ]]; then\n"
		"\t\tkind=$(_elog_arg \"$cmd\" \"$prev\")\n"
		"\tfi\n"
		"\tif [[ -n $kind ]]; then\n"
		"\t\tcase $kind in\n"
		"\t\tfile|dir)\n"
		"\t\t\tcompopt -o filenames 2>/dev/null\n"
		"\t\t\tlocal IFS=$'\\n'\n"
		"\t\t\tif [[ $kind == dir ]]; then COMPREPLY=($(compgen -d -- \"$cur\"))\n"
		"\t\t\telse COMPREPLY=($(compgen -f -- \"$cur\")); fi ;;\n"
		"\t\tlevel)\n"
		"\t\t\tCOMPREPLY=($(compgen -W \"$_elog_levels\" -- \"$cur\")) ;;\n"
		"\t\tcommand)\n"
		"\t\t\tCOMPREPLY=($(compgen -W \"$_elog_commands\" -- \"$cur\")) ;;\n"
		"\t\tcomponent)\n"
		"\t\t\tw=\n"
		"\t\t\t[[ $cur == *,* ]] && w=${cur%,*},\n"
		"\t\t\tCOMPREPLY=($(compgen -P \"$w\" -W \"$(_elog_components \"${COMP_WORDS[0]}\")\" -- \"${cur##*,}\")) ;;\n"
		"\t\ttext) ;;\n"
		"\t\t*)\n"
		"\t\t\tCOMPREPLY=($(compgen -W \"${kind//|/ }\" -- \"$cur\")) ;;\n"
		"\t\tesac\n"
		"\t\treturn 0\n"
		"\tfi\n"
		"\tif [[ $cur == -* ]]; then\n"
		"\t\tCOMPREPLY=($(compgen -W \"$(_elog_options \"$cmd\")\" -- \"$cur\"))\n"
		"\tfi\n"
		"\treturn 0\n"
		"}\n\n"
		"complete -F _elog elog\n");
}

/* zsh: text inside an _arguments description "[...]". */
static void zsh_desc(struct elog_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			elog_buf_adds(b, "'\\''");
		else if (*s == '[' || *s == ']' || *s == '\\')
			elog_buf_addf(b, "\\%c", *s);
		else
			elog_buf_addc(b, *s);
	}
}

static void zsh_action(struct elog_buf *b, const char *k)
{
	if (strcmp(k, "file") == 0)
		elog_buf_adds(b, "_files");
	else if (strcmp(k, "dir") == 0)
		elog_buf_adds(b, "_files -/");
	else if (strcmp(k, "level") == 0)
		elog_buf_adds(b, "_elog_levels");
	else if (strcmp(k, "component") == 0)
		elog_buf_adds(b, "_elog_components");
	else if (strcmp(k, "command") == 0)
		elog_buf_adds(b, "_elog_command_names");
	else if (strcmp(k, "text") == 0)
		elog_buf_adds(b, " ");
	else {
		elog_buf_addc(b, '(');
		for (; *k; k++)
			elog_buf_addc(b, *k == '|' ? ' ' : *k);
		elog_buf_addc(b, ')');
	}
}

static void zsh_options(struct elog_buf *b, const struct option *o)
{
	for (; o && o->long_name; o++) {
		const char *k = value_kind(o);
		const char *suffix = "";

		if (k)
			suffix = o->type == OPT_OPTIONAL ? "=-" : "=";
		elog_buf_adds(b, "\t\t'");
		if (o->type == OPT_LIST)
			elog_buf_addc(b, '*');
		else if (o->short_name)
			elog_buf_addf(b, "(-%c --%s)", o->short_name, o->long_name);
		else
			elog_buf_addf(b, "(--%s)", o->long_name);
		if (o->short_name)
			elog_buf_addf(b, "'{-%c%s,--%s%s}'", o->short_name, k ? "+" : "",
				      o->long_name, suffix);
		else
			elog_buf_addf(b, "--%s%s", o->long_name, suffix);
		elog_buf_addc(b, '[');
		zsh_desc(b, o->help ? o->help : "");
		elog_buf_addc(b, ']');
		if (k) {
			const char *a;

			elog_buf_adds(b, o->type == OPT_OPTIONAL ? "::" : ":");
			for (a = o->argname ? o->argname : "value"; *a; a++) {
				if (*a == ':' || *a == '\\')
					elog_buf_addc(b, '\\');
				if (*a == '\'')
					elog_buf_adds(b, "'\\''");
				else
					elog_buf_addc(b, *a);
			}
			elog_buf_addc(b, ':');
			zsh_action(b, k);
		}
		elog_buf_adds(b, "' \\\n");
	}
}

/* A command name as part of a function name: '-' becomes '_'. */
static void zsh_name(struct elog_buf *b, const char *name)
{
	for (; *name; name++)
		elog_buf_addc(b, *name == '-' ? '_' : *name);
}

static void gen_zsh(struct elog_buf *b)
{
	const struct command *const *c;

	elog_buf_adds(b, "#compdef elog\n"
		      "# zsh completion for elog(1).\n"
		      "# Generated by 'make docs' (tools/gendoc.c) from the option tables; do not edit.\n"
		      "# Run 'make docs' to regenerate.\n\n"
		      "_elog_command_names() {\n\tlocal -a cmds\n\tcmds=(\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_addf(b, "\t\t'%s:", (*c)->name);
		sq(b, (*c)->summary);
		elog_buf_adds(b, "'\n");
	}
	elog_buf_adds(b, "\t)\n\t_describe -t commands 'elog command' cmds\n}\n\n"
		      "_elog_levels() {\n\tcompset -P '*,'\n"
		      "\t_wanted levels expl level compadd ");
	levels_words(b);
	elog_buf_adds(b,
		"\n}\n\n"
		"# The component names the server (--server on the line, else $ELOG_SERVER) or the\n"
		"# history (--db on the line, else the default) knows.\n"
		"_elog_components() {\n"
		"\tlocal srv db i\n"
		"\tlocal -a names args\n"
		"\tfor (( i = 1; i < CURRENT; i++ )); do\n"
		"\t\tcase $words[i] in\n"
		"\t\t--server|-s) srv=$words[i+1] ;;\n"
		"\t\t--server=*) srv=${words[i]#--server=} ;;\n"
		"\t\t--db) db=$words[i+1] ;;\n"
		"\t\t--db=*) db=${words[i]#--db=} ;;\n"
		"\t\tesac\n"
		"\tdone\n"
		"\t[[ -n $srv ]] && args+=(--server ${(q)srv})\n"
		"\t[[ -n $db ]] && args+=(--db ${(q)${db/#\\~/$HOME}})\n"
		"\tnames=(${(f)\"$(_call_program components ${(q)_elog_prog} __complete components $args 2>/dev/null)\"})\n"
		"\tcompset -P '*,'\n"
		"\t_wanted components expl component compadd -a names\n"
		"}\n\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_adds(b, "_elog_cmd_");
		zsh_name(b, (*c)->name);
		elog_buf_adds(b, "() {\n\t_arguments -s -S \\\n");
		zsh_options(b, (*c)->options);
		if ((*c)->client)
			zsh_options(b, client_options);
		elog_buf_adds(b, "\t\t'(- *)'{-h,--help}'[show the options]' \\\n"
			      "\t\t'*:argument: '\n}\n\n");
	}
	elog_buf_adds(b, "_elog() {\n"
		      "\tlocal _elog_prog=$words[1]\n"
		      "\tlocal curcontext=$curcontext state line ret=1\n"
		      "\ttypeset -A opt_args\n"
		      "\t_arguments -C \\\n"
		      "\t\t'(- *)--version[print the version]' \\\n"
		      "\t\t'(- *)'{-h,--help}'[list the commands]' \\\n"
		      "\t\t'1: :->command' \\\n"
		      "\t\t'*:: :->args' && ret=0\n"
		      "\tcase $state in\n"
		      "\tcommand)\n"
		      "\t\t_alternative 'commands:command:_elog_command_names' "
		      "'help:help:(help)' && ret=0 ;;\n"
		      "\targs)\n"
		      "\t\tcurcontext=${curcontext%:*:*}:elog-$words[1]:\n"
		      "\t\tcase $words[1] in\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_addf(b, "\t\t%s) _elog_cmd_", (*c)->name);
		zsh_name(b, (*c)->name);
		elog_buf_adds(b, " && ret=0 ;;\n");
	}
	elog_buf_adds(b, "\t\thelp) _elog_command_names && ret=0 ;;\n"
		      "\t\tesac ;;\n"
		      "\tesac\n"
		      "\treturn ret\n"
		      "}\n\n"
		      "_elog \"$@\"\n");
}

/* fish: inside single quotes, \ and ' are escaped. */
static void fish_sq(struct elog_buf *b, const char *s)
{
	elog_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			elog_buf_addc(b, '\\');
		elog_buf_addc(b, *s);
	}
	elog_buf_addc(b, '\'');
}

static void fish_options(struct elog_buf *b, const char *cmd, const struct option *o)
{
	for (; o && o->long_name; o++) {
		const char *k = value_kind(o);

		elog_buf_addf(b, "complete -c elog -n '__fish_seen_subcommand_from %s'", cmd);
		if (o->short_name)
			elog_buf_addf(b, " -s %c", o->short_name);
		elog_buf_addf(b, " -l %s", o->long_name);
		if (k && o->type != OPT_OPTIONAL) {
			if (strcmp(k, "file") == 0)
				elog_buf_adds(b, " -r -F");
			else if (strcmp(k, "dir") == 0)
				elog_buf_adds(b, " -x -a '(__fish_complete_directories)'");
			else if (strcmp(k, "level") == 0)
				elog_buf_adds(b, " -x -a '(__elog_levels)'");
			else if (strcmp(k, "component") == 0)
				elog_buf_adds(b, " -x -a '(__elog_components)'");
			else if (strcmp(k, "command") == 0)
				elog_buf_adds(b, " -x -a '(__elog_commands)'");
			else if (strcmp(k, "text") == 0)
				elog_buf_adds(b, " -x");
			else {
				struct elog_buf w = ELOG_BUF_INIT;
				const char *p;

				for (p = k; *p; p++)
					elog_buf_addc(&w, *p == '|' ? ' ' : *p);
				elog_buf_adds(b, " -x -a ");
				fish_sq(b, w.data);
				elog_buf_release(&w);
			}
		}
		elog_buf_adds(b, " -d ");
		fish_sq(b, o->help ? o->help : "");
		elog_buf_addc(b, '\n');
	}
}

static void gen_fish(struct elog_buf *b)
{
	const struct command *const *c;

	elog_buf_adds(b, "# fish completion for elog(1).\n"
		      "# Generated by 'make docs' (tools/gendoc.c) from the option tables; do not edit.\n"
		      "# Run 'make docs' to regenerate.\n\n"
		      "function __elog_commands\n\tprintf '%s\\n' ");
	command_words(b);
	elog_buf_adds(b, "\nend\n\nfunction __elog_levels\n\tprintf '%s\\n' ");
	levels_words(b);
	elog_buf_adds(b,
		"\nend\n\n"
		"# True while the command line names no command yet.\n"
		"function __elog_no_command\n"
		"\tset -l tok (commandline -opc)\n"
		"\tfor t in $tok[2..-1]\n"
		"\t\tswitch $t\n"
		"\t\tcase '-*'\n"
		"\t\tcase '*'\n"
		"\t\t\treturn 1\n"
		"\t\tend\n"
		"\tend\n"
		"\treturn 0\n"
		"end\n\n"
		"# The component names the server (--server on the line, else $ELOG_SERVER) or the\n"
		"# history (--db on the line, else the default) knows.\n"
		"function __elog_components\n"
		"\tset -l tok (commandline -opc)\n"
		"\tset -l n (count $tok)\n"
		"\tset -l args\n"
		"\tfor i in (seq 2 $n)\n"
		"\t\tset -l next (math $i + 1)\n"
		"\t\tswitch $tok[$i]\n"
		"\t\tcase --server -s\n"
		"\t\t\ttest $next -le $n; and set args $args --server $tok[$next]\n"
		"\t\tcase '--server=*'\n"
		"\t\t\tset args $args --server (string replace -- --server= '' $tok[$i])\n"
		"\t\tcase --db\n"
		"\t\t\ttest $next -le $n; and set args $args --db $tok[$next]\n"
		"\t\tcase '--db=*'\n"
		"\t\t\tset args $args --db (string replace -- --db= '' $tok[$i])\n"
		"\t\tend\n"
		"\tend\n"
		"\tcommand $tok[1] __complete components $args 2>/dev/null\n"
		"end\n\n"
		"complete -c elog -f\n"
		"complete -c elog -n __elog_no_command -l version -d 'print the version'\n"
		"complete -c elog -n __elog_no_command -s h -l help -d 'list the commands'\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_addf(b, "complete -c elog -n __elog_no_command -a %s -d ", (*c)->name);
		fish_sq(b, (*c)->summary);
		elog_buf_addc(b, '\n');
	}
	elog_buf_adds(b, "complete -c elog -n __elog_no_command -a help -d 'show the options of a command'\n"
		      "complete -c elog -n '__fish_seen_subcommand_from help' -a '(__elog_commands)'\n");
	for (c = elog_commands; *c; c++) {
		elog_buf_addf(b, "\n# %s\n", (*c)->name);
		fish_options(b, (*c)->name, (*c)->options);
		if ((*c)->client)
			fish_options(b, (*c)->name, client_options);
		elog_buf_addf(b, "complete -c elog -n '__fish_seen_subcommand_from %s' -s h -l help "
			      "-d 'show the options'\n", (*c)->name);
	}
}

/* ---- main ----------------------------------------------------------------------------- */

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gendoc: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: gendoc man CMD|elog | bash | zsh | fish | commands\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct elog_buf b = ELOG_BUF_INIT;
	const struct command *const *c;
	int rc;

	if (argc == 3 && strcmp(argv[1], "man") == 0) {
		if (strcmp(argv[2], "elog") == 0) {
			man_elog(&b);
		} else {
			for (c = elog_commands; *c; c++)
				if (strcmp((*c)->name, argv[2]) == 0)
					break;
			if (!*c)
				return usage_error("unknown command '%s'", argv[2]);
			man_command(&b, *c);
		}
	} else if (argc == 2 && strcmp(argv[1], "bash") == 0) {
		gen_bash(&b);
	} else if (argc == 2 && strcmp(argv[1], "zsh") == 0) {
		gen_zsh(&b);
	} else if (argc == 2 && strcmp(argv[1], "fish") == 0) {
		gen_fish(&b);
	} else if (argc == 2 && strcmp(argv[1], "commands") == 0) {
		for (c = elog_commands; *c; c++)
			elog_buf_addf(&b, "%s\n", (*c)->name);
	} else {
		return usage_error("%s", "expected man CMD|elog, bash, zsh, fish or commands");
	}
	rc = b.len && fwrite(b.data, 1, b.len, stdout) != b.len ? EXIT_FAIL : EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = EXIT_FAIL;
	elog_buf_release(&b);
	return rc;
}
