"""Who may send where: relay refusal on port 25 for strangers whatever the
address tricks, relay for authenticated clients and relay.networks, unknown
local recipients refused at RCPT, aliases (lists, nesting, catch-all, one
copy per final mailbox), postmaster (RFC 5321 4.5.1), and account changes
seen by a running server."""
import pytest

from ternserver import make_message, servers, wait_until  # noqa: F401

ALICE = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"
USERS = {ALICE: "alice-pw", BOB: "bob-pw", CAROL: "carol-pw"}


@pytest.fixture
def srv(servers):
    return servers.start(users=USERS)


def remote_rcpts_in_queue(srv):
    """Recipients outside example.test in any queued envelope."""
    found = []
    for env in srv.queue_files("env"):
        for line in env.read_text(errors="replace").splitlines():
            if line.startswith("rcpt "):
                addr = line.split(" ", 2)[2]
                if not addr.lower().endswith("@example.test"):
                    found.append(addr)
    return found


# RFC 5321 3.6.1, 4.1.1.3, appendix C; RFC 2505 (anti-spam recommendations
# for MTAs) 3.2: none of these may make us relay
TRICKS = [
    "far@remote.test",
    "far@REMOTE.TEST",
    "alice@remote.test",
    "user%remote.test@example.test",
    "user%remote.test@EXAMPLE.TEST",
    "remote.test!user@example.test",
    "@example.test:user@remote.test",
    "@EXAMPLE.TEST,@other.test:user@remote.test",
    '"user@remote.test"@example.test',
    '"user%remote.test"@example.test',
    "user@remote.test@example.test",
    "user@[192.0.2.1]",
    "user@[127.0.0.1]",
    "user@example.test.remote.test",
    "user@remote.test.",
]


@pytest.mark.parametrize("rcpt", TRICKS)
def test_no_open_relay(srv, rcpt):
    with srv.raw() as c:
        c.ehlo("stranger.test")
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code >= 500, (rcpt, r)
        if r.code in (550, 551, 553, 554):
            # relay refused (5.7.1), unknown user (5.1.1) or a bad address
            assert r.enhanced in ("5.7.1", "5.1.1", "5.1.2", "5.1.3", "5.1.10"), (rcpt, r)
        # and DATA has nothing to send to
        assert c.cmd("DATA").code in (503, 554)
    assert remote_rcpts_in_queue(srv) == []


def test_relay_refused_reply(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd("RCPT TO:<far@remote.test>")
        assert r.code in (550, 554) and r.enhanced == "5.7.1", r


def test_tricks_to_local_user_stay_local(servers):
    """With a catch-all, percent-hack and bang addresses in the local domain
    are local mail for the catch-all, never relayed."""
    srv = servers.start(users=USERS, aliases={"@example.test": [ALICE]})
    with srv.raw() as c:
        c.ehlo()
        for rcpt in ("user%remote.test@example.test", "remote.test!user@example.test"):
            assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            if r.code == 250:
                assert c.cmd("DATA").code == 354
                c.send(b"Subject: trick\r\n\r\nx\r\n.\r\n")
                assert c.reply().code == 250
            else:
                assert r.code >= 500
                c.cmd("RSET")
    srv.stop()
    assert remote_rcpts_in_queue(srv) == []


def test_domain_case_and_local_part_case(srv):
    with srv.raw() as c:
        c.ehlo()
        r = c.mail("s@remote.test", ["alice@EXAMPLE.TEST", "Bob@Example.Test"], make_message("case"))
        assert r.code == 250
    srv.wait_messages(ALICE, 1)
    srv.wait_messages(BOB, 1)
    assert not (srv.data_dir / "mail" / "EXAMPLE.TEST").exists()


def test_unknown_local_recipient(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd("RCPT TO:<nosuch@example.test>")
        # RFC 5321 3.3 / RFC 3463: refused at RCPT, never accepted and bounced later
        assert r.code == 550 and r.enhanced == "5.1.1", r
        assert c.cmd(f"RCPT TO:<{ALICE}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: one of two\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
    srv.wait_queue_empty()
    assert len(srv.messages(ALICE)) == 1
    assert not srv.maildir("nosuch@example.test").exists()


def test_source_route_to_local_user(srv):
    # RFC 5321 4.1.1.3 and appendix C: the source route is ignored
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<@relay.test:s@remote.test>").code == 250
        r = c.cmd(f"RCPT TO:<@other.test:{ALICE}>")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: routed\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250
    msg = srv.parsed(srv.wait_messages(ALICE, 1)[0])
    assert msg["Return-Path"].strip() == "<s@remote.test>"


def test_postmaster_always_exists(servers):
    # RFC 5321 4.5.1: accepted, and delivered to the administrator (the
    # postmaster key), never into a mailbox no account owns
    srv = servers.start(users=USERS, postmaster=CAROL)
    with srv.raw() as c:
        c.ehlo()
        for rcpt in ("postmaster@example.test", "POSTMASTER@example.test", "Postmaster"):
            assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
            r = c.cmd(f"RCPT TO:<{rcpt}>")
            assert r.code == 250, (rcpt, r)
            assert c.cmd("DATA").code == 354
            c.send(f"Subject: to {rcpt}\r\n\r\nx\r\n.\r\n".encode())
            assert c.reply().code == 250
    srv.wait_queue_empty()
    assert len(srv.messages(CAROL)) == 3
    assert len(srv.all_maildir_files()) == 3
    assert not srv.maildir("postmaster@example.test").exists()


def test_postmaster_alias(servers):
    srv = servers.start(users=USERS, aliases={"postmaster@example.test": [BOB]})
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["postmaster@example.test"], make_message("pm")).code == 250
    msg = srv.parsed(srv.wait_messages(BOB, 1)[0])
    assert msg["Delivered-To"].strip() == BOB


def test_alias_list_and_dedup(servers):
    srv = servers.start(users=USERS, aliases={
        "team@example.test": [ALICE, BOB],
        "all@example.test": ["team@example.test", CAROL, ALICE],   # nested, ALICE twice
    })
    with srv.raw() as c:
        c.ehlo()
        # alice through three paths, bob through two, carol once
        r = c.mail("s@remote.test", ["all@example.test", "team@example.test", ALICE],
                   make_message("dedup"))
        assert r.code == 250
    srv.wait_queue_empty()
    assert len(srv.messages(ALICE)) == 1
    assert len(srv.messages(BOB)) == 1
    assert len(srv.messages(CAROL)) == 1
    assert len(srv.all_maildir_files()) == 3
    for who in (ALICE, BOB, CAROL):
        msg = srv.parsed(srv.messages(who)[0])
        assert msg["Delivered-To"].strip() == who


def test_alias_loop_is_bounded(servers):
    # aliases are checked as they are added (a target must exist), so the
    # loop is closed by adding loop2's way back last
    srv = servers.start(users=USERS, aliases={
        "loop2@example.test": [BOB],
        "loop1@example.test": ["loop2@example.test", ALICE],
    })
    srv.add_alias("loop2@example.test", "loop1@example.test")
    with srv.raw() as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd("RCPT TO:<loop1@example.test>")
        if r.code == 250:
            assert c.cmd("DATA").code == 354
            c.send(b"Subject: loop\r\n\r\nx\r\n.\r\n")
            assert c.reply().code == 250
            srv.wait_queue_empty()
            assert len(srv.messages(ALICE)) == 1
            assert len(srv.messages(BOB)) == 1
        else:
            assert r.code >= 400
        assert c.cmd("NOOP").code == 250


def test_catch_all(servers):
    srv = servers.start(users=USERS, aliases={"@example.test": [CAROL]})
    with srv.raw() as c:
        c.ehlo()
        r = c.mail("s@remote.test", ["whoever@example.test", "other.one@example.test", ALICE],
                   make_message("catch"))
        assert r.code == 250
    srv.wait_queue_empty()
    # real users still get their own mail; two unknowns give carol one copy
    assert len(srv.messages(ALICE)) == 1
    assert len(srv.messages(CAROL)) == 1
    assert srv.parsed(srv.messages(CAROL)[0])["Delivered-To"].strip() == CAROL


def test_plus_detail(srv):
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["alice+lists@example.test"], make_message("plus")).code == 250
    srv.wait_messages(ALICE, 1)


def test_alias_to_remote_from_stranger(servers):
    """A local forwarding alias is local mail on port 25: accepted, and the
    remote target waits in the queue (it is not relaying for the sender)."""
    srv = servers.start(users=USERS, aliases={"fwd@example.test": ["far@remote.test", ALICE]})
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["fwd@example.test"], make_message("fwd")).code == 250
    srv.wait_messages(ALICE, 1)
    wait_until(lambda: "far@remote.test" in remote_rcpts_in_queue(srv),
               what="the forwarded recipient in the queue")


def test_relay_for_authenticated_submission(srv):
    with srv.raw("submission") as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        assert c.auth_plain(ALICE, "alice-pw").code == 235
        assert c.mail(ALICE, ["far@remote.test", "x@REMOTE.TEST", BOB],
                      make_message("out", sender=ALICE)).code == 250
    srv.wait_messages(BOB, 1)
    got = wait_until(lambda: remote_rcpts_in_queue(srv), what="remote recipients in queue/env")
    assert sorted(a.lower() for a in got) == ["far@remote.test", "x@remote.test"]
    # and they stay there across a restart (not lost while no outbound exists)
    srv.restart()
    srv.wait_messages(BOB, 1)
    assert len(srv.messages(BOB)) == 1
    assert sorted(a.lower() for a in remote_rcpts_in_queue(srv)) == ["far@remote.test", "x@remote.test"]


def test_relay_networks(servers):
    srv = servers.start(users=USERS, relay_networks=["127.0.0.7/32"])
    with srv.raw(source="127.0.0.7") as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["far@remote.test"], make_message("trusted")).code == 250
    with srv.raw(source="127.0.0.8") as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
        r = c.cmd("RCPT TO:<other@remote.test>")
        assert r.code in (550, 554) and r.enhanced == "5.7.1", r
    got = wait_until(lambda: remote_rcpts_in_queue(srv), what="the relayed recipient")
    assert got == ["far@remote.test"]


def test_account_changes_without_restart(srv):
    def rcpt(addr):
        with srv.raw() as c:
            c.ehlo()
            assert c.cmd("MAIL FROM:<s@remote.test>").code == 250
            return c.cmd(f"RCPT TO:<{addr}>").code

    assert rcpt("dave@example.test") == 550
    srv.add_user("dave@example.test", "pw")
    assert rcpt("dave@example.test") == 250
    srv.del_user("dave@example.test")
    assert rcpt("dave@example.test") == 550

    assert rcpt("crew@example.test") == 550
    srv.add_alias("crew@example.test", ALICE)
    assert rcpt("crew@example.test") == 250
    srv.del_alias("crew@example.test")
    assert rcpt("crew@example.test") == 550

    assert rcpt("erin@new.test") in (550, 554)
    srv.add_domain("new.test")
    srv.add_user("erin@new.test", "pw")
    assert rcpt("erin@new.test") == 250
    with srv.raw() as c:
        c.ehlo()
        assert c.mail("s@remote.test", ["erin@new.test"], make_message("new domain")).code == 250
    srv.wait_messages("erin@new.test", 1)
    assert (srv.data_dir / "mail" / "new.test" / "erin" / "new").is_dir()
    srv.cli("domain", "del", args=["new.test"])
    assert rcpt("erin@new.test") in (550, 554)
