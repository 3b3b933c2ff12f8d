#!/usr/bin/python3
"""Generate passwordhash test vectors with the original software.

Run on Debian (bookworm) after:
    apt-get install -y python3-passlib python3-django python3-bcrypt \
        python3-argon2 apache2-utils
    ./gen_vectors.py > vectors_python.json

Sources: passlib 1.7 (its own formats, and its phpass/LDAP/crypt
implementations), Django 3.2's django.contrib.auth.hashers, glibc/libxcrypt
crypt(3) through Python's crypt module, and Apache's htpasswd. Cost
parameters are kept low so `go test -race` stays fast; a few vectors use
the software's defaults.
"""
import json
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

import crypt  # noqa: E402  (libxcrypt, deprecated in 3.11 but present)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ],
)
django.setup()

from django.contrib.auth import hashers as dj  # noqa: E402
from passlib import hash as ph  # noqa: E402

PASSWORDS = ["password", "pässwörd €", "пароль 密码 🔑"]
WRONG = "Password"

out = []


def add(fmt, value, password, source, salt="", detect=True, config=None, wrong=WRONG):
    v = {
        "format": fmt,
        "value": value,
        "password": password,
        "wrong": wrong,
        "source": source,
        "detect": detect,
    }
    if salt:
        v["salt"] = salt
    if config:
        v["config"] = config
    out.append(v)


# --- passlib ------------------------------------------------------------
P = "passlib %s" % __import__("passlib").__version__
for pw in PASSWORDS:
    for ident in ("2a", "2b", "2y"):
        add("bcrypt", ph.bcrypt.using(ident=ident, rounds=4).hash(pw), pw, P + " bcrypt")
    add("argon2id", ph.argon2.using(type="ID", memory_cost=64, time_cost=1, parallelism=1).hash(pw), pw, P + " argon2 (argon2-cffi)")
    add("argon2i", ph.argon2.using(type="I", memory_cost=64, time_cost=2, parallelism=2).hash(pw), pw, P + " argon2 (argon2-cffi)")
    add("scrypt", ph.scrypt.using(rounds=4, block_size=8, parallelism=1).hash(pw), pw, P + " scrypt")
    add("pbkdf2-sha1", ph.pbkdf2_sha1.using(rounds=1000).hash(pw), pw, P + " pbkdf2_sha1")
    add("pbkdf2-sha256", ph.pbkdf2_sha256.using(rounds=1000).hash(pw), pw, P + " pbkdf2_sha256")
    add("pbkdf2-sha512", ph.pbkdf2_sha512.using(rounds=1000).hash(pw), pw, P + " pbkdf2_sha512")
    add("phpass", ph.phpass.using(ident="P", rounds=8).hash(pw), pw, P + " phpass ($P$)")
    add("phpass", ph.phpass.using(ident="H", rounds=9).hash(pw), pw, P + " phpass ($H$)")
    add("md5-crypt", ph.md5_crypt.hash(pw), pw, P + " md5_crypt")
    add("sha256-crypt", ph.sha256_crypt.using(rounds=1000).hash(pw), pw, P + " sha256_crypt")
    add("sha512-crypt", ph.sha512_crypt.using(rounds=1000).hash(pw), pw, P + " sha512_crypt")
    add("ldap-sha", ph.ldap_sha1.hash(pw), pw, P + " ldap_sha1")
    add("ldap-ssha", ph.ldap_salted_sha1.hash(pw), pw, P + " ldap_salted_sha1")
    add("ldap-ssha256", ph.ldap_salted_sha256.hash(pw), pw, P + " ldap_salted_sha256")
    add("ldap-ssha512", ph.ldap_salted_sha512.hash(pw), pw, P + " ldap_salted_sha512")
    add("ldap-crypt", ph.ldap_md5_crypt.hash(pw), pw, P + " ldap_md5_crypt")
    add("ldap-crypt", ph.ldap_sha512_crypt.using(rounds=1000).hash(pw), pw, P + " ldap_sha512_crypt")
    add("ldap-crypt", ph.ldap_bcrypt.using(rounds=4).hash(pw), pw, P + " ldap_bcrypt")
# passlib's default rounds, once: a realistic cost. (Higher defaults, such
# as sha512_crypt's 656000 rounds or Django's 260000 PBKDF2 iterations, take
# seconds under the race detector and are left out.)
add("pbkdf2-sha256", ph.pbkdf2_sha256.hash("correct horse"), "correct horse", P + " pbkdf2_sha256 default rounds")
# Salt longer than 16 and rounds below 1000 are clamped by the spec.
add("sha256-crypt", ph.sha256_crypt.using(rounds=1000, salt="0123456789abcdef").hash("x"), "x", P + " sha256_crypt 16-char salt", wrong="y")

# --- glibc / libxcrypt crypt(3) -----------------------------------------
C = "libxcrypt crypt(3) via Python crypt"
for pw in PASSWORDS:
    add("md5-crypt", crypt.crypt(pw, "$1$saltsalt"), pw, C)
    add("sha256-crypt", crypt.crypt(pw, "$5$rounds=1000$saltsaltsaltsalt"), pw, C)
    add("sha512-crypt", crypt.crypt(pw, "$6$saltsalt"), pw, C + " (implicit 5000 rounds)")
    add("sha512-crypt", crypt.crypt(pw, "$6$rounds=1000$x"), pw, C)
    add("bcrypt", crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)), pw, C + " bcrypt $2b$")

# --- ASP.NET Membership (no .NET here) -------------------------------------
# SqlMembershipProvider.EncodePassword, Hashed format with a non-keyed
# hashAlgorithmType: base64(H(base64decode(salt) + UTF-16LE(password))).
# Published vectors from a .NET implementation are in vectors_published.json;
# these add non-ASCII and non-BMP passwords (UTF-16 surrogate pairs).
import base64  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402

M = "Python hashlib following SqlMembershipProvider.EncodePassword"
for pw in PASSWORDS:
    for algo, fmt in (("sha1", "aspnet-membership-sha1"), ("sha256", "aspnet-membership-sha256")):
        salt = os.urandom(16)
        digest = hashlib.new(algo, salt + pw.encode("utf-16-le")).digest()
        add(fmt, base64.b64encode(digest).decode(), pw, M + " (" + algo + ")", salt=base64.b64encode(salt).decode())
    add("aspnet-membership-clear", pw, pw, "SqlMembershipProvider Clear format (stored as-is)", detect=False)

# --- Django ---------------------------------------------------------------
D = "Django %s django.contrib.auth.hashers" % django.get_version()


class FastPBKDF2(dj.PBKDF2PasswordHasher):
    iterations = 1000


class FastPBKDF2SHA1(dj.PBKDF2SHA1PasswordHasher):
    iterations = 1000


class FastArgon2(dj.Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64
    parallelism = 1


class FastBcryptSHA256(dj.BCryptSHA256PasswordHasher):
    rounds = 4


class FastBcrypt(dj.BCryptPasswordHasher):
    rounds = 4


for pw in PASSWORDS:
    add("django-pbkdf2-sha256", FastPBKDF2().encode(pw, FastPBKDF2().salt()), pw, D + " PBKDF2PasswordHasher (1000 iterations)")
    add("django-pbkdf2-sha1", FastPBKDF2SHA1().encode(pw, FastPBKDF2SHA1().salt()), pw, D + " PBKDF2SHA1PasswordHasher (1000 iterations)")
    add("django-argon2", FastArgon2().encode(pw, FastArgon2().salt()), pw, D + " Argon2PasswordHasher (low cost)")
    add("django-bcrypt-sha256", FastBcryptSHA256().encode(pw, FastBcryptSHA256().salt()), pw, D + " BCryptSHA256PasswordHasher")
    add("django-bcrypt", FastBcrypt().encode(pw, FastBcrypt().salt()), pw, D + " BCryptPasswordHasher")
    add("django-sha1", dj.SHA1PasswordHasher().encode(pw, "s4lt"), pw, D + " SHA1PasswordHasher")
    add("django-md5", dj.MD5PasswordHasher().encode(pw, "s4lt"), pw, D + " MD5PasswordHasher")
# bcrypt_sha256 is not truncated at 72 bytes; plain bcrypt is.
long_pw = "x" * 100
add("django-bcrypt-sha256", FastBcryptSHA256().encode(long_pw, FastBcryptSHA256().salt()), long_pw, D + " BCryptSHA256PasswordHasher, 100-byte password", wrong="x" * 99 + "y")
add("django-bcrypt", FastBcrypt().encode(long_pw, FastBcrypt().salt()), long_pw, D + " BCryptPasswordHasher, 100-byte password (truncated at 72)", wrong="x" * 71 + "y")

# --- Apache htpasswd ------------------------------------------------------
H = "Apache htpasswd (apache2-utils)"


def htpasswd(*args):
    line = subprocess.run(["htpasswd", "-nbi", *args, "u"], input="password", capture_output=True, text=True, check=True).stdout
    return line.strip().split(":", 1)[1]


add("bcrypt", htpasswd("-B", "-C", "4"), "password", H + " -B ($2y$)")
add("ldap-sha", htpasswd("-s"), "password", H + " -s ({SHA})")
add("sha256-crypt", htpasswd("-2", "-r", "1000"), "password", H + " -2")
add("sha512-crypt", htpasswd("-5"), "password", H + " -5 (default rounds)")

json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
sys.stdout.write("\n")
