/*
 * check-slurm.c: unit tests of the Slurm backend's pure parts (place.c),
 * which need no Slurm: reading a host's CPU slots from Slurm's compressed
 * task counts, the srun options a program's "resources" make, packing the
 * nodes onto the hosts, and finding the group of a node slot.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpd.h"
#include "slurm.h"

/* Where the programs below say they were read from (never read). */
#define PROG_PATH	"/check-slurm/prog.json"

/* Load a program from text, which must succeed. */
static struct lpd_program *
load(const char *text)
{
	struct lpd_program	*p;
	char			*cause = NULL;

	p = lpd_program_load_text(PROG_PATH, text, strlen(text), NULL, NULL,
	    NULL, &cause);
	ck_assert_msg(p != NULL, "loading %s: %s", text,
	    cause != NULL ? cause : "(no cause)");
	ck_assert_ptr_null(cause);
	return (p);
}

/*
 * Check that lpd_slurm_request gives exactly the n options of want, in
 * order, then free them.
 */
static void
check_request(const struct lpd_program *p, const char *const *want,
    size_t nwant)
{
	char	**v;
	size_t	 n = (size_t)-1, i;

	v = lpd_slurm_request(p, &n);
	ck_assert_ptr_nonnull(v);
	for (i = 0; i < n && i < nwant; i++)
		ck_assert_str_eq(v[i], want[i]);
	ck_assert_uint_eq(n, nwant);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Hosts named h0, h1, ... with the slots of slots[]; caller frees. */
static struct lpd_slurm_host *
make_hosts(const unsigned *slots, size_t n)
{
	struct lpd_slurm_host	*hosts;
	size_t			 i;

	hosts = calloc(n == 0 ? 1 : n, sizeof *hosts);
	ck_assert_ptr_nonnull(hosts);
	for (i = 0; i < n; i++) {
		hosts[i].name = NULL;
		hosts[i].slots = slots[i];
		hosts[i].used = 12345;	/* place must start from 0 */
	}
	return (hosts);
}

/* One plain count for every host: node 0 only. */
START_TEST(test_tasks_single)
{
	ck_assert_uint_eq(lpd_slurm_tasks_on("4", 0), 4);
	ck_assert_uint_eq(lpd_slurm_tasks_on("4", 1), 0);
	ck_assert_uint_eq(lpd_slurm_tasks_on("1", 0), 1);
	ck_assert_uint_eq(lpd_slurm_tasks_on("128", 0), 128);
}
END_TEST

/* "2(x3)": three hosts of two, nothing past them. */
START_TEST(test_tasks_repeat)
{
	unsigned	 i;

	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(lpd_slurm_tasks_on("2(x3)", i), 2);
	ck_assert_uint_eq(lpd_slurm_tasks_on("2(x3)", 3), 0);
	ck_assert_uint_eq(lpd_slurm_tasks_on("2(x3)", 1000), 0);
}
END_TEST

/* A list of runs and single counts, read in order. */
START_TEST(test_tasks_list)
{
	ck_assert_uint_eq(lpd_slurm_tasks_on("2(x2),1", 0), 2);
	ck_assert_uint_eq(lpd_slurm_tasks_on("2(x2),1", 1), 2);
	ck_assert_uint_eq(lpd_slurm_tasks_on("2(x2),1", 2), 1);
	ck_assert_uint_eq(lpd_slurm_tasks_on("2(x2),1", 3), 0);

	ck_assert_uint_eq(lpd_slurm_tasks_on("3,1(x2),4", 0), 3);
	ck_assert_uint_eq(lpd_slurm_tasks_on("3,1(x2),4", 1), 1);
	ck_assert_uint_eq(lpd_slurm_tasks_on("3,1(x2),4", 2), 1);
	ck_assert_uint_eq(lpd_slurm_tasks_on("3,1(x2),4", 3), 4);
	ck_assert_uint_eq(lpd_slurm_tasks_on("3,1(x2),4", 4), 0);

	ck_assert_uint_eq(lpd_slurm_tasks_on("1,2,3", 2), 3);
}
END_TEST

/*
 * Malformed lists give 0 for every host, never a crash or a read past the
 * end: the whole list is read before any answer, so a good head ("2;3",
 * "2,,") does not answer for its hosts either.
 */
START_TEST(test_tasks_malformed)
{
	static const char *const	 bad[] = {
		"", "x", "2(x", "2(x3", "(x3)", "2(x)", ",2", "-1", "2(x3]",
		"2(xx)", "99999999999999999999",
	};
	static const char *const	 tail[] = {
		"2,,", "2;3", "2(3)", "2(x3)x", "2(x3),", "1,2(x2),,",
		"1,2(x", "2(x-1)", " 4", "+4", "2(x0),5", "0", "0,3",
		"2(x1000001)",
	};
	size_t				 i;
	unsigned			 id;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (id = 0; id < 4; id++) {
			ck_assert_msg(lpd_slurm_tasks_on(bad[i], id) == 0,
			    "\"%s\" host %u: %u, not 0", bad[i], id,
			    lpd_slurm_tasks_on(bad[i], id));
		}
	}
	for (i = 0; i < sizeof tail / sizeof tail[0]; i++) {
		for (id = 0; id < 4; id++) {
			ck_assert_msg(lpd_slurm_tasks_on(tail[i], id) == 0,
			    "\"%s\" host %u: %u, not 0", tail[i], id,
			    lpd_slurm_tasks_on(tail[i], id));
		}
	}

	/* A count too large to be a host's is refused. */
	ck_assert_uint_eq(lpd_slurm_tasks_on("1000001", 0), 0);
	ck_assert_uint_eq(lpd_slurm_tasks_on("1000000", 0), 1000000);
}
END_TEST

/* Without "resources": one CPU per node, nothing else asked. */
START_TEST(test_request_default)
{
	struct lpd_program	*p;
	static const char *const want[] = {
		"--ntasks=5", "--cpus-per-task=1",
	};

	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 3},"
	    "{\"group\": \"b\", \"type\": \"courier\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2}]}");
	ck_assert_uint_eq(p->nnodes, 5);
	check_request(p, want, 2);
	lpd_program_free(p);
}
END_TEST

/*
 * CPUs are summed as replicas * cpus, GPUs as replicas * gpus, memory is
 * per CPU at the most any group needs, rounded up.
 */
START_TEST(test_request_all)
{
	struct lpd_program	*p;
	static const char *const want[] = {
		"--ntasks=17", "--cpus-per-task=1", "--mem-per-cpu=2048",
		"--gpus=6",
	};

	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 3,"
	    " \"resources\": {\"cpus\": 2, \"mem_mb\": 4096}},"
	    "{\"group\": \"b\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2,"
	    " \"resources\": {\"cpus\": 3, \"mem_mb\": 1000}},"
	    "{\"group\": \"c\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"],"
	    " \"resources\": {\"gpus\": 2}},"
	    "{\"group\": \"d\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 4,"
	    " \"resources\": {\"cpus\": 1, \"gpus\": 1}}]}");
	ck_assert_uint_eq(p->nnodes, 10);
	check_request(p, want, 4);
	lpd_program_free(p);
}
END_TEST

/* Memory per CPU rounds up, and the largest per CPU wins, not per node. */
START_TEST(test_request_mem)
{
	struct lpd_program	*p;
	static const char *const want_ceil[] = {
		"--ntasks=6", "--cpus-per-task=1", "--mem-per-cpu=334",
	};
	static const char *const want_max[] = {
		"--ntasks=5", "--cpus-per-task=1", "--mem-per-cpu=1500",
	};
	static const char *const want_big[] = {
		"--ntasks=1", "--cpus-per-task=1",
		"--mem-per-cpu=4294967296",
	};
	static const char *const want_zero[] = {
		"--ntasks=2", "--cpus-per-task=1",
	};

	/* 1000 MiB over 3 CPUs: 334 each (333 would fall short). */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2,"
	    " \"resources\": {\"cpus\": 3, \"mem_mb\": 1000}}]}");
	check_request(p, want_ceil, 3);
	lpd_program_free(p);

	/* 4096 over 4 (1024 each) and 1500 over 1: 1500. */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"],"
	    " \"resources\": {\"cpus\": 4, \"mem_mb\": 4096}},"
	    "{\"group\": \"b\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"],"
	    " \"resources\": {\"mem_mb\": 1500}}]}");
	check_request(p, want_max, 3);
	lpd_program_free(p);

	/* The largest memory, past 32 bits. */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"],"
	    " \"resources\": {\"mem_mb\": 4294967296}}]}");
	check_request(p, want_big, 3);
	lpd_program_free(p);

	/* mem_mb 0 and gpus 0 said outright: nothing asked. */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2,"
	    " \"resources\": {\"mem_mb\": 0, \"gpus\": 0}}]}");
	check_request(p, want_zero, 2);
	lpd_program_free(p);
}
END_TEST

/* GPUs without memory: --gpus alone, no --mem-per-cpu. */
START_TEST(test_request_gpus)
{
	struct lpd_program	*p;
	static const char *const want[] = {
		"--ntasks=8", "--cpus-per-task=1", "--gpus=4",
	};

	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2,"
	    " \"resources\": {\"cpus\": 4, \"gpus\": 2}}]}");
	check_request(p, want, 3);
	lpd_program_free(p);
}
END_TEST

/* Nodes fill the hosts in order, each host as far as its slots go. */
START_TEST(test_place_in_order)
{
	static const unsigned	 slots[] = { 2, 2, 1 };
	struct lpd_program	*p;
	struct lpd_slurm_host	*hosts;
	size_t			 host[5], i;
	char			*cause = NULL;

	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 3},"
	    "{\"group\": \"b\", \"type\": \"courier\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2}]}");
	ck_assert_uint_eq(p->nnodes, 5);
	hosts = make_hosts(slots, 3);
	for (i = 0; i < 5; i++)
		host[i] = 99;
	ck_assert_int_eq(lpd_slurm_place(p, hosts, 3, host, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_uint_eq(host[0], 0);
	ck_assert_uint_eq(host[1], 0);
	ck_assert_uint_eq(host[2], 1);
	ck_assert_uint_eq(host[3], 1);
	ck_assert_uint_eq(host[4], 2);
	ck_assert_uint_eq(hosts[0].used, 2);
	ck_assert_uint_eq(hosts[1].used, 2);
	ck_assert_uint_eq(hosts[2].used, 1);

	/* Again on the same hosts: the counts start over. */
	for (i = 0; i < 5; i++)
		host[i] = 99;
	ck_assert_int_eq(lpd_slurm_place(p, hosts, 3, host, &cause), 0);
	ck_assert_uint_eq(host[0], 0);
	ck_assert_uint_eq(host[4], 2);
	ck_assert_uint_eq(hosts[2].used, 1);

	free(hosts);
	lpd_program_free(p);
}
END_TEST

/*
 * A node of two CPUs skips a host with one left; the next node of one
 * CPU goes back to that host (first fit, not next fit).
 */
START_TEST(test_place_first_fit)
{
	static const unsigned	 slots[] = { 2, 2 };
	struct lpd_program	*p;
	struct lpd_slurm_host	*hosts;
	size_t			 host[3];
	char			*cause = NULL;

	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"]},"
	    "{\"group\": \"b\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"],"
	    " \"resources\": {\"cpus\": 2}},"
	    "{\"group\": \"c\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"]}]}");
	hosts = make_hosts(slots, 2);
	ck_assert_int_eq(lpd_slurm_place(p, hosts, 2, host, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_uint_eq(host[0], 0);
	ck_assert_uint_eq(host[1], 1);
	ck_assert_uint_eq(host[2], 0);
	ck_assert_uint_eq(hosts[0].used, 2);
	ck_assert_uint_eq(hosts[1].used, 2);
	free(hosts);
	lpd_program_free(p);
}
END_TEST

/* A node that fits on no host fails, naming the node and its CPUs. */
START_TEST(test_place_no_fit)
{
	static const unsigned	 slots[] = { 4, 3 };
	static const unsigned	 small[] = { 2, 2, 1 };
	struct lpd_program	*p;
	struct lpd_slurm_host	*hosts;
	size_t			 host[6];
	char			*cause = NULL;

	/* g/0 takes host 0 whole; g/1 needs 4 and host 1 has only 3. */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"g\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2,"
	    " \"resources\": {\"cpus\": 4}}]}");
	hosts = make_hosts(slots, 2);
	ck_assert_int_eq(lpd_slurm_place(p, hosts, 2, host, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, "g/1 needs 4 CPUs on one host", 28) == 0,
	    "%s", cause);
	ck_assert_msg(strstr(cause, "--exclusive") != NULL, "%s", cause);
	ck_assert_uint_eq(host[0], 0);
	free(cause);
	cause = NULL;
	free(hosts);

	/* No hosts at all: the first node already fails. */
	hosts = make_hosts(NULL, 0);
	ck_assert_int_eq(lpd_slurm_place(p, hosts, 0, host, &cause), -1);
	ck_assert_msg(cause != NULL && strncmp(cause, "g/0 needs 4 CPUs",
	    16) == 0, "%s", cause != NULL ? cause : "(no cause)");
	free(cause);
	cause = NULL;
	free(hosts);
	lpd_program_free(p);

	/* One node more than the slots: the sixth, b/2, fails. */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 3},"
	    "{\"group\": \"b\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 3}]}");
	hosts = make_hosts(small, 3);
	ck_assert_int_eq(lpd_slurm_place(p, hosts, 3, host, &cause), -1);
	ck_assert_msg(cause != NULL && strncmp(cause, "b/2 needs 1 CPU on "
	    "one host and no host of the job has one left", 63) == 0, "%s",
	    cause != NULL ? cause : "(no cause)");
	free(cause);
	free(hosts);
	lpd_program_free(p);
}
END_TEST

/* Slots are numbered through the groups in file order. */
START_TEST(test_slot_group)
{
	struct lpd_program	*p;

	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 2},"
	    "{\"group\": \"b\", \"type\": \"courier\","
	    " \"command\": [\"/bin/true\"]},"
	    "{\"group\": \"c\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 3}]}");
	ck_assert_uint_eq(p->ngroups, 3);
	ck_assert_uint_eq(p->nnodes, 6);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 0), 0);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 1), 0);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 2), 1);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 3), 2);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 4), 2);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 5), 2);
	lpd_program_free(p);

	/* One group: every slot is its own. */
	p = load("{\"program\": \"r\", \"nodes\": ["
	    "{\"group\": \"a\", \"type\": \"process\","
	    " \"command\": [\"/bin/true\"], \"replicas\": 4}]}");
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 0), 0);
	ck_assert_uint_eq(lpd_slurm_slot_group(p, 3), 0);
	lpd_program_free(p);
}
END_TEST

/* The suite: one case per function. */
static Suite *
slurm_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("slurm");

	tc = tcase_create("tasks");
	tcase_add_test(tc, test_tasks_single);
	tcase_add_test(tc, test_tasks_repeat);
	tcase_add_test(tc, test_tasks_list);
	tcase_add_test(tc, test_tasks_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_request_default);
	tcase_add_test(tc, test_request_all);
	tcase_add_test(tc, test_request_mem);
	tcase_add_test(tc, test_request_gpus);
	suite_add_tcase(s, tc);

	tc = tcase_create("place");
	tcase_add_test(tc, test_place_in_order);
	tcase_add_test(tc, test_place_first_fit);
	tcase_add_test(tc, test_place_no_fit);
	suite_add_tcase(s, tc);

	tc = tcase_create("slots");
	tcase_add_test(tc, test_slot_group);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(slurm_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
