"""Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
LIST, LSUB, NAMESPACE (RFC 9051 6.3.4-6.3.10, RFC 3501 6.3.3-6.3.9),
LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
CREATE-SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348), and mailbox names:
modified UTF-7 for IMAP4rev1 clients, UTF-8 after ENABLE UTF8=ACCEPT or
IMAP4rev2 (RFC 3501 5.1.3, RFC 6855 3, RFC 9051 5.1). Against Dovecot and
tern (both use "/" as the hierarchy delimiter here)."""
import pytest

from imapbackends import backend, imap  # noqa: F401  (fixtures)
from imapclient import Literal, quote, text
from ternserver import make_message

DEFAULTS = {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}


def listing(r, kind="LIST"):
    """{name: (attributes as a set of lower-case str, delimiter, extra)}."""
    out = {}
    for u in r.of(kind):
        v = u.values
        attrs = {a.lower() for a in v[0]}
        out[text(v[2])] = (attrs, text(v[1]) if v[1] is not None else None, v[3:])
    return out


def names(c, ref="", pattern="*", cmd="LIST"):
    r = c.ok(f"{cmd} {quote(ref)} {quote(pattern)}")
    return set(listing(r, cmd))


def test_default_folders_and_special_use(imap):
    c = imap.login()
    r = c.ok('LIST "" "*"')
    got = listing(r)
    assert set(got) == DEFAULTS, got
    for name, use in (("Sent", "\\sent"), ("Drafts", "\\drafts"), ("Trash", "\\trash"),
                      ("Junk", "\\junk"), ("Archive", "\\archive")):
        assert use in got[name][0], (name, got[name])
    # RFC 3348: a CHILDREN server sends \HasChildren or \HasNoChildren
    assert all("\\hasnochildren" in a for a, _, _ in got.values())
    assert {d for _, d, _ in got.values()} == {"/"}
    c.logout()


def test_list_empty_pattern_gives_delimiter(imap):
    c = imap.login()
    r = c.ok('LIST "" ""')
    # RFC 9051 6.3.9: the hierarchy delimiter and the root name, \Noselect
    u = r.one("LIST").values
    assert text(u[1]) == "/" and text(u[2]) == ""
    assert "\\noselect" in {a.lower() for a in u[0]}
    c.logout()


def test_create_and_list_patterns(imap):
    c = imap.login()
    for name in ("Work", "Work/2025", "Work/2025/Q1", "Play"):
        c.ok("CREATE ", quote(name))
    assert {"Work", "Work/2025", "Work/2025/Q1", "Play"} <= names(c)
    # % does not match the delimiter (RFC 9051 6.3.9)
    assert names(c, "", "Work/%") == {"Work/2025"}
    assert names(c, "", "Work/*") == {"Work/2025", "Work/2025/Q1"}
    assert names(c, "", "W%") == {"Work"}
    assert names(c, "Work/", "%") == {"Work/2025"}
    assert names(c, "", "%") == DEFAULTS | {"Work", "Play"}
    r = c.ok('LIST "" "Work*"')
    got = listing(r)
    assert "\\haschildren" in got["Work"][0] and "\\hasnochildren" in got["Work/2025/Q1"][0]
    # INBOX matches case-insensitively (RFC 9051 6.3.9)
    assert names(c, "", "inbox") == {"INBOX"}
    c.logout()


def test_create_makes_parents(imap):
    c = imap.login()
    # RFC 9051 6.3.4: the server SHOULD create missing superior names
    c.ok('CREATE "a/b/c"')
    got = listing(c.ok('LIST "" "a*"'))
    assert "a/b/c" in got
    for parent in ("a", "a/b"):
        # a made parent may be a real mailbox or a \Noselect placeholder
        assert parent in got, got
    c.logout()


def test_create_trailing_delimiter(imap):
    c = imap.login()
    # RFC 9051 6.3.4: "foo/" creates "foo" (the delimiter says the client
    # intends to make names under it)
    r = c.cmd('CREATE "trail/"')
    assert r.ok, r
    assert "trail" in names(c)
    c.logout()


def test_create_existing_and_inbox(imap):
    c = imap.login()
    c.ok("CREATE dup")
    r = c.cmd("CREATE dup")
    assert r.status == "NO", r
    # RFC 5530: ALREADYEXISTS when a code is given
    assert r.code_word() in (None, "ALREADYEXISTS"), r
    r = c.cmd("CREATE INBOX")
    assert r.status == "NO", r
    r = c.cmd("CREATE inbox")
    assert r.status == "NO", r
    c.logout()


def test_delete(imap):
    c = imap.login()
    c.ok("CREATE gone")
    imap.fill([make_message()], mailbox="gone")
    c.ok("DELETE gone")
    assert "gone" not in names(c)
    r = c.cmd("DELETE gone")
    assert r.status == "NO"
    assert r.code_word() in (None, "NONEXISTENT"), r
    # RFC 9051 6.3.5: deleting INBOX is an error
    assert c.cmd("DELETE INBOX").status == "NO"
    # a name made again gets a new UIDVALIDITY or starts empty
    c.ok("CREATE gone")
    r = c.ok("STATUS gone (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "0"]
    c.logout()


def test_delete_with_children(imap):
    """RFC 9051 6.3.5: a mailbox with inferiors: either the name stays as
    \\Noselect with its messages gone, or NO; the children stay."""
    c = imap.login()
    # Dovecot's Maildir++ layout does not create "p" for "p/q" (a SHOULD
    # of RFC 9051 6.3.4), so make both
    c.ok("CREATE p")
    c.ok('CREATE "p/q"')
    imap.fill([make_message()], mailbox="p")
    r = c.cmd("DELETE p")
    assert r.status in ("OK", "NO"), r
    got = listing(c.ok('LIST "" "p*"'))
    assert "p/q" in got
    if r.ok:
        attrs = got["p"][0] if "p" in got else {"\\noselect"}
        if attrs & {"\\noselect", "\\nonexistent"}:
            assert c.cmd("SELECT p").status == "NO"
        else:
            # Dovecot 2.3 (Maildir++) lists "p" as (\HasChildren) alone
            # although it no longer exists (STATUS p: NO): RFC 3501 6.3.4
            # asks for \Noselect (RFC 5258: \NonExistent)
            assert imap.kind == "dovecot", got
            assert c.cmd("STATUS p (MESSAGES)").status in ("OK", "NO")
    c.logout()


def test_rename(imap):
    c = imap.login()
    c.ok("CREATE old")
    c.ok('CREATE "old/sub"')
    imap.fill([make_message(subject="carried")], mailbox="old")
    c.select("old")
    c.ok("UNSELECT" if "UNSELECT" in imap.caps() else "CLOSE")
    c.ok("RENAME old new")
    got = names(c)
    # RFC 9051 6.3.6: inferior names are renamed too
    assert "new" in got and "new/sub" in got and "old" not in got and "old/sub" not in got
    r = c.ok("STATUS new (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "1"]
    # to an existing name: NO
    c.ok("CREATE taken")
    r = c.cmd("RENAME new taken")
    assert r.status == "NO" and r.code_word() in (None, "ALREADYEXISTS"), r
    # from a missing name: NO
    assert c.cmd("RENAME nothing x").status == "NO"
    c.logout()


def test_rename_inbox_moves_messages(imap):
    imap.fill([make_message(subject="i1"), make_message(subject="i2")])
    c = imap.login()
    r = c.cmd("RENAME INBOX moved")
    if imap.kind == "dovecot" and r.status == "NO":
        pytest.skip(f"Dovecot with Maildir refuses to rename INBOX: {r.line!r}")
    assert r.ok, r
    # RFC 9051 6.3.6: all messages move to the new name, INBOX stays, empty
    r = c.ok("STATUS moved (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "2"]
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert r.one("STATUS").values[1] == ["MESSAGES", "0"]
    assert "INBOX" in names(c)
    c.logout()


def test_subscribe_lsub(imap):
    c = imap.login()
    c.ok("CREATE s1")
    c.ok("CREATE s2")
    c.ok("SUBSCRIBE s1")
    got = names(c, cmd="LSUB")
    assert "s1" in got and "s2" not in got
    c.ok("UNSUBSCRIBE s1")
    assert "s1" not in names(c, cmd="LSUB")
    # RFC 9051 6.3.7: SUBSCRIBE of a name that does not exist may be
    # refused or kept; UNSUBSCRIBE of a name not subscribed may be NO or OK
    r = c.cmd("SUBSCRIBE never-made")
    assert r.status in ("OK", "NO")
    r = c.cmd("UNSUBSCRIBE never-subscribed")
    assert r.status in ("OK", "NO")
    c.logout()


def test_subscription_survives_delete(imap):
    """RFC 9051 6.3.5: DELETE does not unsubscribe; LSUB/LIST (SUBSCRIBED)
    still shows the name, which is no longer a mailbox (\\NonExistent or
    \\Noselect)."""
    c = imap.login()
    c.ok("CREATE sd")
    c.ok("SUBSCRIBE sd")
    c.ok("DELETE sd")
    if "LIST-EXTENDED" in imap.caps():
        got = listing(c.ok('LIST (SUBSCRIBED) "" "sd"'))
        assert "sd" in got, got
        assert got["sd"][0] & {"\\nonexistent", "\\noselect"}, got
    c.logout()


def test_list_extended(imap):
    imap.need("LIST-EXTENDED")
    c = imap.login()
    for name in ("le", "le/a", "le/b"):
        c.ok("CREATE ", quote(name))
    c.ok('SUBSCRIBE "le/b"')
    # RFC 5258 3.1: SUBSCRIBED selection returns \Subscribed
    got = listing(c.ok('LIST (SUBSCRIBED) "" "le*"'))
    assert set(got) == {"le/b"} and "\\subscribed" in got["le/b"][0]
    # RECURSIVEMATCH: a parent matching % with a subscribed child gets
    # CHILDINFO ("SUBSCRIBED") (RFC 5258 3.5)
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "le"')
    u = [x for x in r.of("LIST") if text(x.values[2]) == "le"]
    assert u and "CHILDINFO" in str(u[0].values[3:]).upper(), r
    # RETURN (SUBSCRIBED) marks subscribed names among all
    got = listing(c.ok('LIST "" "le*" RETURN (SUBSCRIBED)'))
    assert "\\subscribed" in got["le/b"][0] and "\\subscribed" not in got["le/a"][0]
    # RETURN (CHILDREN)
    got = listing(c.ok('LIST "" "le*" RETURN (CHILDREN)'))
    assert "\\haschildren" in got["le"][0]
    # several patterns (RFC 5258 3)
    got = listing(c.ok('LIST "" ("le/a" "Sent")'))
    assert set(got) == {"le/a", "Sent"}
    # SPECIAL-USE selection (RFC 6154 3)
    got = listing(c.ok('LIST (SPECIAL-USE) "" "*"'))
    assert set(got) == DEFAULTS - {"INBOX"}
    got = listing(c.ok('LIST "" "*" RETURN (SPECIAL-USE)'))
    assert "\\trash" in got["Trash"][0]
    c.logout()


def test_list_status(imap):
    imap.need("LIST-STATUS")
    imap.fill([make_message(), make_message()])
    c = imap.login()
    r = c.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))')
    # RFC 5819: a STATUS response for each selectable listed mailbox
    st = {text(u.values[0]): dict(zip(u.values[1][::2], u.values[1][1::2])) for u in r.of("STATUS")}
    assert set(st) == DEFAULTS
    assert st["INBOX"] == {"MESSAGES": "2", "UNSEEN": "2"}
    assert st["Trash"]["MESSAGES"] == "0"
    c.logout()


def test_create_special_use(imap):
    imap.need("CREATE-SPECIAL-USE")
    c = imap.login()
    c.ok('CREATE "Old Mail" (USE (\\Archive))')
    got = listing(c.ok('LIST "" "Old Mail" RETURN (SPECIAL-USE)'))
    assert "\\archive" in got["Old Mail"][0]
    # an unknown use: NO [USEATTR] (RFC 6154 3)
    r = c.cmd('CREATE "Weird" (USE (\\NotAUse))')
    assert r.status in ("NO", "BAD") and r.code_word() in ("USEATTR", None), r
    c.logout()


def test_namespace(imap):
    c = imap.login()
    r = c.ok("NAMESPACE")
    v = r.one("NAMESPACE").values
    # RFC 2342 5 / RFC 9051 6.3.10: personal, other users', shared
    assert len(v) == 3
    personal = v[0]
    assert isinstance(personal, list) and personal
    assert text(personal[0][1]) == "/"
    assert text(personal[0][0]) in ("", "INBOX/")
    c.logout()


def test_mutf7_names_rev1(imap):
    """RFC 3501 5.1.3: an IMAP4rev1 client sends and sees modified UTF-7."""
    c = imap.login()
    mutf7 = "Caf&AOk-/&ANw-bung"       # Café/Übung
    c.ok("CREATE ", quote(mutf7))
    got = names(c, "", "Caf*")
    assert mutf7 in got and "Caf&AOk-" in got
    c.ok("SELECT ", quote(mutf7))
    c.logout()


def test_invalid_mutf7_refused(imap):
    c = imap.login()
    # "&" must start a base64 run ending in "-"; "&Jjo!" is not modified UTF-7
    r = c.cmd('CREATE "bad&Jjo!name"')
    assert r.status in ("NO", "BAD"), r
    c.logout()


def test_utf8_names_after_enable(imap):
    """RFC 6855 3: after ENABLE UTF8=ACCEPT names are UTF-8, in quoted
    strings; a rev1 session still sees modified UTF-7."""
    imap.need("UTF8=ACCEPT")
    c = imap.login()
    r = c.ok("ENABLE UTF8=ACCEPT")
    assert "UTF8=ACCEPT" in {x.upper() for x in r.one("ENABLED").values}
    c.ok("CREATE ", quote("Été/Ünïcødé"))
    got = names(c, "", "*t*")
    assert "Été" in got and "Été/Ünïcødé" in got
    c.ok("SELECT ", quote("Été"))
    c.logout()
    c = imap.login()
    got = names(c, "", "*")
    assert "&AMk-t&AOk-" in got and "&AMk-t&AOk-/&ANw-n&AO8-c&APg-d&AOk-" in got
    c.logout()


def test_utf8_names_rev2(imap):
    imap.need("IMAP4REV2")
    c = imap.login()
    c.ok("ENABLE IMAP4rev2")
    c.ok("CREATE ", quote("Ωmega"))
    assert "Ωmega" in names(c)
    c.logout()


def test_list_quoting_of_odd_names(imap):
    c = imap.login()
    odd = ['with space', 'per%cent', 'quote"d', 'back\\slash', 'brace{1}']
    made = []
    for n in odd:
        r = c.cmd("CREATE ", quote(n))
        if r.ok:
            made.append(n)
        else:
            # a server may refuse some characters (RFC 9051 5.1), with NO
            assert r.status == "NO", r
    got = names(c)
    for n in made:
        assert n in got, (n, got)
    # a name with % and * is not a pattern inside a literal name to SELECT
    for n in made:
        c.ok("SELECT ", Literal(n))
    c.logout()


def test_rename_into_own_child_refused(imap):
    c = imap.login()
    c.ok("CREATE loop")
    r = c.cmd('RENAME loop "loop/inner"')
    assert r.status == "NO", r
    c.logout()


def test_list_shows_no_folders_of_other_users(imap):
    other = imap.backend.add_user()
    c = other.login()
    c.ok("CREATE private-of-other")
    c.logout()
    c = imap.login()
    assert "private-of-other" not in names(c)
    assert c.cmd("SELECT private-of-other").status == "NO"
    c.logout()
