/*
 * The spawn bootstrap under attack: this executable started with mproc's
 * child flag by someone who is not its mproc parent, or by a parent that
 * sends a forged message, must refuse with one stderr line and a distinct
 * exit code, never run a target, never block, never write on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "support/forge.h"
#include "support/test_support.h"

#define TARGET_RAN 7

static int t_ran(const mproc_args_t *args)
{
    (void)args;
    return TARGET_RAN;
}
MPROC_TARGET(t_ran)

static char err_text[4096];

/* Start, finish, and check the exit code and the one stderr line. */
static void expect_refusal(forge_t *f, int code)
{
    size_t out_bytes = 1;
    int got = forge_finish(f, err_text, sizeof err_text, &out_bytes);
    if (got != code)
        fail_msg("exit code %d, expected %d; stderr: %s", got, code, err_text);
    assert_int_equal(out_bytes, 0);
    assert_non_null(strstr(err_text, "mproc: not starting as a spawned child: "));
    char *nl = strchr(err_text, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0'); /* exactly one line */
}

static void flag_without_handle_is_refused(void **state)
{
    (void)state;
    forge_t f;
    forge_start(&f, FORGE_NONE, NULL);
    expect_refusal(&f, MPROC_EXIT_BOOT_ARGV);
}

static void standard_streams_are_never_the_channel(void **state)
{
    (void)state;
    /* stdin stays open and idle: the child must not wait for it. */
    static const char *const in[] = {"0", NULL};
    static const char *const out[] = {"1", NULL};
    static const char *const junk[] = {"3x", "9", NULL};
    forge_t f;
    forge_start(&f, FORGE_NONE, in);
    expect_refusal(&f, MPROC_EXIT_BOOT_ARGV);
    forge_start(&f, FORGE_NONE, out);
    expect_refusal(&f, MPROC_EXIT_BOOT_ARGV);
    forge_start(&f, FORGE_NONE, junk);
    expect_refusal(&f, MPROC_EXIT_BOOT_ARGV);
}

static void channel_that_is_not_a_pipe_or_socket_is_refused(void **state)
{
    (void)state;
    forge_t f;
    forge_start(&f, FORGE_NOT_SOCKET, NULL);
    expect_refusal(&f, MPROC_EXIT_BOOT_CHANNEL);
}

static void channel_from_another_process_is_refused(void **state)
{
    (void)state;
    forge_t f;
    forge_start(&f, FORGE_FOREIGN, NULL);
    expect_refusal(&f, MPROC_EXIT_BOOT_CHANNEL);
}

/* The message a real parent would send for target `target`, answering `token`. */
static void encode_as(mproc__wbuf_t *b, const unsigned char *token, const char *target,
                      int daemon, int64_t parent_pid, const mproc_args_t *args)
{
    mproc__boot_msg_t m;
    memset(&m, 0, sizeof m);
    memcpy(m.token, token, sizeof m.token);
    m.target = (char *)target;
    m.name = (char *)"Forged-1";
    m.identity = (char *)"1";
    m.daemon = daemon;
    m.parent_pid = parent_pid;
    m.parent_name = (char *)"MainProcess";
    m.method = MPROC_METHOD_SPAWN;
    m.args = (mproc_args_t *)args;
    assert_int_equal(mproc__boot_encode(&m, b), MPROC_OK);
}

static void encode(mproc__wbuf_t *b, const unsigned char *token, const char *target, int daemon,
                   const mproc_args_t *args)
{
    encode_as(b, token, target, daemon, test_getpid(), args);
}

typedef enum forgery {
    GENUINE,
    WRONG_TOKEN,
    WRONG_PARENT,
    NO_NUL,
    BAD_DAEMON,
    UNKNOWN_TARGET
} forgery_t;

/* Play the parent: take the challenge, answer with a message forged as told. */
static void answer(forge_t *f, forgery_t how)
{
    unsigned char token[MPROC__BOOT_TOKEN_BYTES];
    mproc__wbuf_t b = {0};
    mproc_args_t *args = NULL;
    assert_int_equal(mproc__os_read_all(f->rd, token, sizeof token), MPROC_OK);
    if (how == WRONG_TOKEN)
        token[3] ^= 1;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_add_str(args, "abc"), MPROC_OK);
    encode_as(&b, token, how == UNKNOWN_TARGET ? "no_such_target" : "t_ran",
              how == BAD_DAEMON ? 2 : 0, test_getpid() + (how == WRONG_PARENT), args);
    if (how == NO_NUL) {
        /* The string's terminating NUL is the message's last byte. */
        assert_int_equal(b.data[b.len - 1], '\0');
        b.data[b.len - 1] = 'x';
    }
    assert_int_equal(mproc__os_write_all(f->wr, b.data, b.len), MPROC_OK);
    mproc__wbuf_free(&b);
    mproc_args_free(args);
}

static void genuine_message_runs_the_target(void **state)
{
    (void)state;
    forge_t f;
    size_t out_bytes = 1;
    forge_start(&f, FORGE_PARENT, NULL);
    answer(&f, GENUINE);
    int32_t ack = -1;
    assert_int_equal(mproc__os_read_all(f.rd, &ack, sizeof ack), MPROC_OK);
    assert_int_equal(ack, MPROC_OK);
    assert_int_equal(forge_finish(&f, err_text, sizeof err_text, &out_bytes), TARGET_RAN);
    assert_int_equal(out_bytes, 0);
}

/* Play a parent that answers as `how` says; the child must refuse with `code`. */
static void answer_and_expect(forgery_t how, int code)
{
    forge_t f;
    forge_start(&f, FORGE_PARENT, NULL);
    answer(&f, how);
    expect_refusal(&f, code);
}

static void wrong_token_is_refused(void **state)
{
    (void)state;
    answer_and_expect(WRONG_TOKEN, MPROC_EXIT_BOOT_TOKEN);
}

static void message_naming_another_parent_is_refused(void **state)
{
    (void)state;
    answer_and_expect(WRONG_PARENT, MPROC_EXIT_BOOT_TOKEN);
}

static void string_without_nul_is_refused(void **state)
{
    (void)state;
    answer_and_expect(NO_NUL, MPROC_EXIT_BOOT_MESSAGE);
}

static void bad_daemon_flag_is_refused(void **state)
{
    (void)state;
    answer_and_expect(BAD_DAEMON, MPROC_EXIT_BOOT_MESSAGE);
}

static void unknown_target_is_refused(void **state)
{
    (void)state;
    answer_and_expect(UNKNOWN_TARGET, MPROC_EXIT_BOOT_TARGET);
}

static void truncated_message_is_refused(void **state)
{
    (void)state;
    unsigned char token[MPROC__BOOT_TOKEN_BYTES];
    uint32_t len = 1000;
    forge_t f;
    forge_start(&f, FORGE_PARENT, NULL);
    assert_int_equal(mproc__os_read_all(f.rd, token, sizeof token), MPROC_OK);
    assert_int_equal(mproc__os_write_all(f.wr, &len, sizeof len), MPROC_OK);
    assert_int_equal(mproc__os_write_all(f.wr, token, sizeof token), MPROC_OK);
    forge_close_channel(&f); /* the rest never comes */
    expect_refusal(&f, MPROC_EXIT_BOOT_TIMEOUT);
}

static void decoder_refuses_every_truncation(void **state)
{
    (void)state;
    unsigned char token[MPROC__BOOT_TOKEN_BYTES] = {1, 2, 3};
    mproc__wbuf_t b = {0};
    mproc__boot_msg_t m;
    mproc_args_t *args = NULL;
    assert_int_equal(mproc_args_create(&args), MPROC_OK);
    assert_int_equal(mproc_args_add_str(args, "abc"), MPROC_OK);
    assert_int_equal(mproc_args_add_int(args, 5), MPROC_OK);
    encode(&b, token, "t_ran", 1, args);
    assert_int_equal(mproc__boot_decode(b.data + 4, b.len - 4, &m), MPROC_OK);
    assert_string_equal(m.target, "t_ran");
    assert_int_equal(m.daemon, 1);
    assert_int_equal(mproc_args_count(m.args), 2);
    mproc__boot_msg_free(&m);
    /* A byte too many, and a start method no platform has. */
    assert_int_equal(mproc__wbuf_put(&b, "", 1), MPROC_OK);
    assert_int_equal(mproc__boot_decode(b.data + 4, b.len - 4, &m), MPROC_EINVAL);
    b.len--;
    mproc__wbuf_t odd = {0};
    mproc__boot_msg_t bad;
    memset(&bad, 0, sizeof bad);
    bad.target = (char *)"t_ran";
    bad.method = (mproc_start_method_t)99;
    bad.parent_pid = 1;
    assert_int_equal(mproc__boot_encode(&bad, &odd), MPROC_OK);
    assert_int_equal(mproc__boot_decode(odd.data + 4, odd.len - 4, &m), MPROC_EINVAL);
    mproc__wbuf_free(&odd);
    for (size_t cut = 0; cut < b.len - 4; cut++) {
        assert_int_equal(mproc__boot_decode(b.data + 4, cut, &m), MPROC_EINVAL);
        assert_null(m.target);
        assert_null(m.args);
    }
    mproc__wbuf_free(&b);
    mproc_args_free(args);
}

int main(int argc, char **argv)
{
    forge_set_exe(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flag_without_handle_is_refused),
        cmocka_unit_test(standard_streams_are_never_the_channel),
        cmocka_unit_test(channel_that_is_not_a_pipe_or_socket_is_refused),
        cmocka_unit_test(channel_from_another_process_is_refused),
        cmocka_unit_test(genuine_message_runs_the_target),
        cmocka_unit_test(wrong_token_is_refused),
        cmocka_unit_test(message_naming_another_parent_is_refused),
        cmocka_unit_test(string_without_nul_is_refused),
        cmocka_unit_test(bad_daemon_flag_is_refused),
        cmocka_unit_test(unknown_target_is_refused),
        cmocka_unit_test(truncated_message_is_refused),
        cmocka_unit_test(decoder_refuses_every_truncation),
    };
    return test_main(argc, argv, "bootstrap", tests, ARRAY_LEN(tests));
}
