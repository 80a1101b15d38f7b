/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request policy (docs/agent-policy.md). Our format, one rule per line:
 *
 *     # coco-policy v1
 *     default allow            (or deny)
 *     allow ExecProcess ReadStdout
 *     deny CopyFile
 *
 * In the confidential classes ExecProcess, ReadStdout, ReadStderr and
 * SetPolicy-after-start are denied unless a rule names them explicitly. A
 * policy this agent cannot evaluate (Rego meant for kata-agent, a syntax
 * error at boot, a damaged initdata disk) fails closed: every AgentService
 * request is refused with the reason.
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "util.h"

#define MAX_RULES 128

struct policy {
        bool default_allow;
        size_t n_rules;
        struct {
                char method[64];
                bool allow;
        } rules[MAX_RULES];
        char *closed_reason; /* set: everything is denied with this reason */
        char *source;
};

void policy_free(struct policy *p)
{
        if (!p)
                return;
        free(p->closed_reason);
        free(p->source);
        free(p);
}

static bool is_rego(const char *text)
{
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                l += strspn(l, " \t");
                if (strncmp(l, "package ", 8) == 0)
                        return true;
        }
        return false;
}

static int parse(struct policy *p, const char *text, struct coco_error **err)
{
        _cleanup_free_ char *copy = xstrdup(text);
        unsigned lineno = 0;
        char *save = NULL;

        p->default_allow = true;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *words_save = NULL;
                lineno++;
                line[strcspn(line, "#")] = 0;
                char *verb = strtok_r(line, " \t\r", &words_save);
                if (!verb)
                        continue;
                bool allow = strcmp(verb, "allow") == 0;
                if (strcmp(verb, "default") == 0) {
                        char *v = strtok_r(NULL, " \t\r", &words_save);
                        if (!v || (strcmp(v, "allow") && strcmp(v, "deny")) ||
                            strtok_r(NULL, " \t\r", &words_save))
                                return coco_error_set(err, EINVAL,
                                                      "policy line %u: expected \"default allow\" "
                                                      "or \"default deny\"",
                                                      lineno);
                        p->default_allow = strcmp(v, "allow") == 0;
                        continue;
                }
                if (!allow && strcmp(verb, "deny") != 0)
                        return coco_error_set(err, EINVAL,
                                              "policy line %u: unknown rule \"%s\" (use default, "
                                              "allow or deny)",
                                              lineno, verb);
                char *m;
                bool any = false;
                while ((m = strtok_r(NULL, " \t\r", &words_save))) {
                        if (p->n_rules == MAX_RULES || strlen(m) >= sizeof(p->rules[0].method))
                                return coco_error_set(err, E2BIG,
                                                      "policy line %u: too many rules "
                                                      "or a name too long",
                                                      lineno);
                        strcpy(p->rules[p->n_rules].method, m);
                        p->rules[p->n_rules++].allow = allow;
                        any = true;
                }
                if (!any)
                        return coco_error_set(err, EINVAL, "policy line %u: %s names no request",
                                              lineno, verb);
        }
        return 0;
}

int policy_load(struct agent *a, const char *text, const char *source, struct coco_error **err)
{
        struct policy *p = xcalloc(1, sizeof(*p));

        p->source = xstrdup(source);
        if (is_rego(text)) {
                p->closed_reason = xasprintf("the agent policy from %s is Rego, which this agent "
                                             "cannot evaluate; failing closed",
                                             source);
        } else {
                int r = parse(p, text, err);
                if (r < 0) {
                        policy_free(p);
                        return coco_error_wrap(err, r, "%s", source);
                }
        }
        pthread_mutex_lock(&a->lock);
        policy_free(a->policy);
        a->policy = p;
        pthread_mutex_unlock(&a->lock);
        log_info("agent policy loaded from %s%s", source,
                 p->closed_reason ? " (fails closed)" : "");
        return 0;
}

/* Fail closed with a reason (a damaged initdata disk, an unparsable boot policy). */
void policy_close(struct agent *a, const char *reason);
void policy_close(struct agent *a, const char *reason)
{
        struct policy *p = xcalloc(1, sizeof(*p));
        p->closed_reason = xstrdup(reason);
        p->source = xstrdup("boot");
        pthread_mutex_lock(&a->lock);
        policy_free(a->policy);
        a->policy = p;
        pthread_mutex_unlock(&a->lock);
        log_error("agent policy fails closed: %s", reason);
}

static bool sensitive(const char *method)
{
        return strcmp(method, "ExecProcess") == 0 || strcmp(method, "ReadStdout") == 0 ||
               strcmp(method, "ReadStderr") == 0;
}

int policy_check(struct agent *a, const char *method, struct coco_error **err)
{
        int r = 0;

        pthread_mutex_lock(&a->lock);
        const struct policy *p = a->policy;
        int rule = -1; /* -1 none, 0 deny, 1 allow */
        for (size_t i = 0; p && i < p->n_rules; i++)
                if (strcmp(p->rules[i].method, method) == 0)
                        rule = p->rules[i].allow;

        if (p && p->closed_reason)
                r = coco_error_set(err, EPERM, "%s: %s denied", p->closed_reason, method);
        else if (rule == 0)
                r = coco_error_set(err, EPERM, "%s is denied by the agent policy (%s)", method,
                                   p->source);
        else if (rule == 1)
                r = 0;
        else if (a->confidential && sensitive(method))
                r = coco_error_set(err, EPERM,
                                   "%s is denied in a confidential VM unless the agent policy "
                                   "allows it",
                                   method);
        else if (a->confidential && strcmp(method, "SetPolicy") == 0 && a->any_started)
                r = coco_error_set(err, EPERM,
                                   "SetPolicy after a container started is denied in a "
                                   "confidential VM unless the agent policy allows it");
        else if (p && !p->default_allow)
                r = coco_error_set(err, EPERM,
                                   "%s is denied by the agent policy (%s, default deny)", method,
                                   p->source);
        pthread_mutex_unlock(&a->lock);
        return r;
}
