"""The runtime's redaction of secrets (jobhunter_runtime/redaction.py): URL credentials and
the values of secret environment variables never survive it; other text is left alone."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobhunter_runtime.redaction import MASK, MIN_SECRET_LENGTH, redact

# Secrets drawn from characters the mask and URL syntax never use, so that a secret cannot
# be re-formed out of the mask or the text around it.
secrets = st.text(string.ascii_letters + string.digits, min_size=MIN_SECRET_LENGTH, max_size=40)
userinfo = st.text(string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@", min_size=1)
texts = st.text(max_size=200)
secret_names = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", "JOBHUNTER_", "APP_", "github_"]),
    st.sampled_from(["API_KEY", "SECRET_KEY", "TOKEN", "PASSWORD", "DB_PASS", "CREDENTIALS"]),
    st.sampled_from(["", "_1", "_FILE_CONTENT"]),
)


@given(before=texts, after=texts, name=secret_names, secret=secrets)
def test_the_value_of_a_secret_variable_never_survives(
    before: str, after: str, name: str, secret: str
) -> None:
    redacted = redact(f"{before}{secret}{after}{secret}", {name: secret, "HOME": "/root"})

    assert secret not in redacted
    assert MASK in redacted


@given(scheme=st.sampled_from(["mongodb", "mongodb+srv", "https", "redis"]), user=userinfo)
def test_url_credentials_never_survive(scheme: str, user: str) -> None:
    text = f"cannot reach {scheme}://{user}@db.internal:27017/jobs?tls=true (timeout)"
    redacted = redact(text, {})

    assert redacted == f"cannot reach {scheme}://***@db.internal:27017/jobs?tls=true (timeout)"


@given(text=texts, name=secret_names, secret=secrets)
def test_redacting_twice_changes_nothing_more(text: str, name: str, secret: str) -> None:
    environ = {name: secret}
    once = redact(text + secret, environ)

    assert redact(once, environ) == once


@given(text=st.text(alphabet=st.characters(exclude_characters="@*"), max_size=300))
def test_text_without_secrets_is_left_alone(text: str) -> None:
    environ = {"HOME": "/root", "PATH": "/usr/bin:/bin", "PWD": "/app", "LANG": "C.UTF-8"}

    assert redact(text, environ) == text


def test_the_password_of_a_url_in_the_environment_is_a_secret_everywhere() -> None:
    environ = {"MONGODB_URL": "mongodb://app:p%40ss%2Fw0rd@db:27017/jobs"}

    redacted = redact("login app/p@ss/w0rd failed; quoted p%40ss%2Fw0rd", environ)

    assert redacted == "login app/*** failed; quoted ***"


def test_an_unescaped_at_sign_in_a_password_is_masked_with_it() -> None:
    assert redact("mongodb://app:p@ss@db:27017/x", {}) == "mongodb://***@db:27017/x"


@pytest.mark.parametrize(
    "environ",
    [
        {"TOKENIZERS_PARALLELISM": "false"},  # a switch, not a secret: too short to mask
        {"SSH_AUTH_SOCK": "/tmp/ssh-agent.sock", "PWD": "/app", "HOSTNAME": "api-7f9c"},
    ],
)
def test_values_that_are_not_secrets_are_left_alone(environ: dict[str, str]) -> None:
    text = "false at /app/main.py via /tmp/ssh-agent.sock on api-7f9c"

    assert redact(text, environ) == text


def test_the_process_environment_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBHUNTER_SECRET_KEY", "late-secret-value")

    assert redact("key late-secret-value") == "key ***"
