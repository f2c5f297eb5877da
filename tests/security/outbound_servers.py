"""Misbehaving HTTP servers on 127.0.0.1 for the outbound-safety tests: they speak raw sockets so
they can drip, stall and flood exactly as a hostile receiver would, and they record whether the
client sat through the whole answer or hung up first."""

from __future__ import annotations

import socket
import threading
import time


class HostileServer:
    """``mode``:

    - ``"drip-body"``: status and headers at once, then the body one byte every ``interval``
      seconds for ``seconds`` seconds (a valid JSON body in the end);
    - ``"drip-headers"``: the status line, then one header byte every ``interval`` seconds;
    - ``"flood"``: a 200 answer of ``size`` bytes (no Content-Length), as fast as the client reads;
    - ``"stall"``: read the request, answer nothing until stopped.

    ``completed`` tells whether an answer was sent to the end (the client waited for all of it);
    ``hung_up`` whether the client closed the connection first. ``requests`` counts requests."""

    def __init__(self, mode: str, *, interval: float = 0.2, seconds: float = 6.0, size: int = 32 * 1024 * 1024,
                 body: bytes = b"{}"):
        self.mode, self.interval, self.seconds, self.size, self.body = mode, interval, seconds, size, body
        self.completed = False
        self.hung_up = False
        self.requests = 0
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._handled = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def wait_handled(self, timeout: float = 15.0) -> bool:
        """Until the first connection's answer ended (sent to the end, or the client hung up)."""
        return self._handled.wait(timeout)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            rest += chunk

    def _send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        with self._lock:
            self.bytes_sent += len(data)

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self._stop.is_set():
                return
            self._send(conn, bytes([byte]))
            time.sleep(self.interval)

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self.requests += 1
        try:
            self._read_request(conn)
            count = max(1, int(self.seconds / self.interval))
            if self.mode == "drip-body":
                body = self.body + b" " * count
                self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
                self._send(conn, self.body)
                self._drip(conn, b" " * count)
            elif self.mode == "drip-headers":
                self._send(conn, b"HTTP/1.1 200 OK\r\n")
                self._drip(conn, b"X-Slow: " + b"a" * count + b"\r\n")
                self._send(conn, b"Content-Type: application/json\r\nContent-Length: " + str(len(self.body)).encode()
                           + b"\r\nConnection: close\r\n\r\n" + self.body)
            elif self.mode == "flood":
                self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                chunk = b"[" + b" " * 65534 + b"]"
                for _ in range(self.size // len(chunk)):
                    if self._stop.is_set():
                        return
                    self._send(conn, chunk)
            elif self.mode == "stall":
                self._stop.wait()
                return
            self.completed = not self._stop.is_set()
        except OSError:
            self.hung_up = True
        finally:
            self._handled.set()
            try:
                conn.close()
            except OSError:
                pass
