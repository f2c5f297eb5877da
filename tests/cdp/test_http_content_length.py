"""A Content-Length that str.isdigit() accepts and int() refuses ("²", sent by a hostile or broken
server) is no number: the answer is read and capped like one without the header, never a ValueError."""

from __future__ import annotations

import io

import requests

from cdp.http import outbound_request


class _OneAnswer(requests.Session):
    def __init__(self, content_length: str, body: bytes):
        super().__init__()
        self.content_length, self.body = content_length, body

    def request(self, method, url, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Length"] = self.content_length
        response.raw = io.BytesIO(self.body)
        response.url = url
        return response


def test_a_content_length_of_non_ascii_digits_is_ignored_not_a_crash():
    response = outbound_request("GET", "https://example.com/", deadline=5, max_bytes=1024,
                                session=_OneAnswer("\u00b2", b"ok"), trusted=True)
    assert response.status_code == 200 and response.content == b"ok"
