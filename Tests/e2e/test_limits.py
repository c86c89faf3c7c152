"""Timeouts and the connection cap: the server closes or refuses, cleanly."""
import socket
import time

from conftest import config_text, read_response, recv_all


def wait_closed(sock, within):
    """True if the peer closes the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            d = sock.recv(4096)
            if not d:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_slow_header_is_cut_off(server_factory, docroot):
    s = server_factory(config_text(docroot, header_timeout="1s", keepalive_timeout="30s"))
    c = s.connect()
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
    for _ in range(3):  # trickle header bytes: the deadline counts from the first byte
        time.sleep(0.3)
        try:
            c.sendall(b"X-Slow: 1\r\n")
        except OSError:
            break
    assert wait_closed(c, 5)
    c.close()


def test_idle_keep_alive_closed(server_factory, docroot):
    s = server_factory(config_text(docroot, header_timeout="30s", keepalive_timeout="1s"))
    c = s.connect()
    c.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    st, _, body, _ = read_response(c)
    assert (st, body) == (200, b"alpha\n")
    assert wait_closed(c, 5)
    c.close()


def test_connection_cap_refuses_with_503(server_factory, docroot):
    s = server_factory(config_text(docroot, max_connections=2, header_timeout="30s"))
    held = []
    for _ in range(20):  # the start-up probe may still hold a slot for a moment
        held = [s.connect(), s.connect()]
        statuses = []
        for h in held:  # make sure both are adopted before the third arrives
            h.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            statuses.append(read_response(h)[0])
        if statuses == [200, 200]:
            break
        for h in held:
            h.close()
        time.sleep(0.2)
    assert statuses == [200, 200]
    extra = s.connect()
    data = recv_all(extra)
    assert data.startswith(b"HTTP/1.1 503"), data
    assert b"Connection: close" in data
    extra.close()
    held[0].close()
    # Once the server has seen that close, a slot is free again.
    status = None
    deadline = time.time() + 5
    while time.time() < deadline and status != 200:
        time.sleep(0.2)
        c = s.connect()
        c.sendall(b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            status = read_response(c)[0]
        except (EOFError, ConnectionResetError):
            status = None
        c.close()
    assert status == 200
    held[1].close()


def test_stalled_reader_is_dropped_after_write_timeout(server_factory, docroot):
    import os
    size = 64 << 20
    with open(os.path.join(docroot, "big.bin"), "wb") as f:
        f.truncate(size)
    text = config_text(docroot, header_timeout="30s", keepalive_timeout="30s").replace(
        "  max_request_body: 1k\n", "  max_request_body: 1k\n  write_timeout: 1s\n")
    s = server_factory(text)
    c = s.connect()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(3)  # read nothing: the server's writes stall
    got = len(recv_all(c))
    assert got < size  # the server gave up and closed instead of waiting forever
    c.close()
