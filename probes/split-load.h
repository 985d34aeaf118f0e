/* Loading the probe on two CPUs (issue 14 §4). Included by loader.c.
 *
 * The attach is mostly the verifier, and BPF_PROG_LOAD verifies one program on the calling CPU: loaded
 * in sequence, the second vCPU idles. So the skeleton's object loads with no program (that creates and
 * fills every map), two more opens of the same object reuse its maps by fd and load half the programs
 * each, one of them on a second thread, and the skeleton's program pointers are then pointed at the
 * loaded copies: attach, links and bpf_program__fd() work on them as before, against the same maps. */
#include <pthread.h>

static struct journey_bpf *open_object(bool with_netfilter);

/* Which half verifies a program, by name. Their BPF_PROG_LOAD times (strace -T, --no-flows): the netfilter
 * programs ~75-80 ms each, on_dev_queue and on_receive_skb ~75, on_gro ~57, on_kfree ~38, the rest ~10;
 * yet the first half, on the main thread, finished last, so on_kfree went to the second (a CLI follow's
 * attach 405 -> 357 ms, medians of 9 alternated; the whole probe's 553 -> 569, noise). Unlisted programs
 * load in the first half. */
static const char *const split_second[] = {
	"nf_post_filter", "on_dev_queue", "on_receive_skb", "on_netif_rx", "on_kfree", "on_sys_enter",
};

static bool in_second_half(const char *name)
{
	for (size_t i = 0; i < sizeof(split_second) / sizeof(split_second[0]); i++)
		if (!strcmp(name, split_second[i]))
			return true;
	return false;
}

static struct journey_bpf *halves[2];
static bool split_off; /* --no-split-load: load in one thread, as before (for comparing the two) */

static void *load_half(void *arg)
{
	struct journey_bpf *h = arg;
	return (void *)(intptr_t)bpf_object__load(h->obj);
}

static void split_free(void)
{
	for (int i = 0; i < 2; i++) {
		journey_bpf__destroy(halves[i]);
		halves[i] = NULL;
	}
}

/* Loads skel (already opened by open_object) in two halves, calling maps_ready once its maps exist.
 * 0 on success; on failure everything it opened is closed and the caller loads a fresh skeleton in one
 * piece. */
static int split_load(bool with_netfilter, void (*maps_ready)(void))
{
	struct bpf_object_skeleton *sk = skel->skeleton;
	bool wanted[64] = { 0 };
	if (split_off || sk->prog_cnt > 64)
		return -1;
	for (int i = 0; i < sk->prog_cnt; i++) {
		wanted[i] = bpf_program__autoload(*sk->progs[i].prog);
		bpf_program__set_autoload(*sk->progs[i].prog, false);
	}
	if (journey_bpf__load(skel))
		return -1;
	maps_ready();
	for (int h = 0; h < 2; h++) {
		halves[h] = open_object(with_netfilter);
		if (!halves[h])
			goto fail;
		/* The same object file, so the same maps in the same order. */
		struct bpf_map *mine = NULL, *theirs = NULL;
		while ((mine = bpf_object__next_map(skel->obj, mine)) &&
		       (theirs = bpf_object__next_map(halves[h]->obj, theirs)))
			if (bpf_map__reuse_fd(theirs, bpf_map__fd(mine)))
				goto fail;
		for (int i = 0; i < sk->prog_cnt; i++) {
			struct bpf_program *p = bpf_object__find_program_by_name(halves[h]->obj, sk->progs[i].name);
			if (!p)
				goto fail;
			bpf_program__set_autoload(p, wanted[i] && in_second_half(sk->progs[i].name) == (h == 1));
		}
	}
	pthread_t second;
	if (pthread_create(&second, NULL, load_half, halves[1]))
		goto fail;
	intptr_t first_err = (intptr_t)load_half(halves[0]);
	void *second_err = NULL;
	pthread_join(second, &second_err);
	if (first_err || second_err)
		goto fail;
	for (int i = 0; i < sk->prog_cnt; i++) {
		struct journey_bpf *h = halves[in_second_half(sk->progs[i].name)];
		*sk->progs[i].prog = bpf_object__find_program_by_name(h->obj, sk->progs[i].name);
	}
	return 0;
fail:
	split_free();
	return -1;
}
