#!/usr/bin/env bash
# Regenerates hashes.json: the seed hashes of the preset fixtures, each made
# by the original software or its reference algorithm. Not run by tests.
# Needs: apt-get install php-cli python3-passlib python3-django
# Costs are kept low (bcrypt 5, phpass 2^8, PBKDF2 1000, Drupal 2^10) so the
# conformance suite stays fast; the algorithms are unchanged.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
P1='correct horse battery staple'
P2='pässwörd-日本語-🔑'
P3=$'p@ss\'w"rd%_\\ ok'
export P1 P2 P3

php_bcrypt() { php -r 'echo password_hash(getenv($argv[1]), PASSWORD_BCRYPT, ["cost" => 5]);' "$1"; }
# WordPress 6.8 wp_hash_password(): '$wp' . bcrypt(base64(HMAC-SHA384(password, 'wp-sha384'))).
php_wp() { php -r 'echo "\$wp" . password_hash(base64_encode(hash_hmac("sha384", getenv($argv[1]), "wp-sha384", true)), PASSWORD_BCRYPT, ["cost" => 5]);' "$1"; }
# Drupal 7 includes/password.inc _password_crypt('sha512', ...), ported line by line.
php_drupal7() { php -r '
$itoa = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function b64($input, $count, $itoa) { $output = ""; $i = 0;
  do { $value = ord($input[$i++]); $output .= $itoa[$value & 0x3f];
    if ($i < $count) { $value |= ord($input[$i]) << 8; } $output .= $itoa[($value >> 6) & 0x3f];
    if ($i++ >= $count) { break; } if ($i < $count) { $value |= ord($input[$i]) << 16; }
    $output .= $itoa[($value >> 12) & 0x3f]; if ($i++ >= $count) { break; } $output .= $itoa[($value >> 18) & 0x3f];
  } while ($i < $count); return $output; }
$password = getenv($argv[1]); $log2 = 10;
$setting = "\$S\$" . $itoa[$log2] . b64(random_bytes(6), 6, $itoa);
$salt = substr($setting, 4, 8); $count = 1 << $log2;
$hash = hash("sha512", $salt . $password, TRUE);
do { $hash = hash("sha512", $hash . $password, TRUE); } while (--$count);
$output = $setting . b64($hash, strlen($hash), $itoa);
echo substr($output, 0, 55);' "$1"; }
py_phpass() { $PY -c 'import os,sys; from passlib.hash import phpass; print(phpass.using(rounds=8).hash(os.environ[sys.argv[1]]), end="")' "$1"; }
py_django() { $PY -c '
import os, sys
from django.conf import settings
settings.configure()
from django.contrib.auth.hashers import PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher
h = {"sha256": PBKDF2PasswordHasher, "sha1": PBKDF2SHA1PasswordHasher}[sys.argv[2]]()
print(h.encode(os.environ[sys.argv[1]], h.salt(), iterations=1000), end="")' "$1" "$2"; }
# ASP.NET Membership (SqlMembershipProvider, hashAlgorithmType SHA1):
# base64(SHA1(salt bytes + UTF-16LE(password))), salt base64 beside it.
py_aspnet() { $PY -c '
import base64, hashlib, os, sys
salt = os.urandom(16)
d = hashlib.sha1(salt + os.environ[sys.argv[1]].encode("utf-16-le")).digest()
print(base64.b64encode(d).decode() + " " + base64.b64encode(salt).decode(), end="")' "$1"; }

read -r A1 S1 <<<"$(py_aspnet P1)"; read -r A3 S3 <<<"$(py_aspnet P3)"
jq -n \
  --arg wp1 "$(py_phpass P1)" --arg wp2 "$(php_wp P2)" --arg wp3 "$(py_phpass P3)" \
  --arg dj1 "$(py_django P1 sha256)" --arg dj2 "$(py_django P2 sha256)" --arg dj3 "$(py_django P3 sha1)" \
  --arg lv1 "$(php_bcrypt P1)" --arg lv2 "$(php_bcrypt P2)" --arg lv3 "$(php_bcrypt P3)" \
  --arg dr1 "$(php_drupal7 P1)" --arg dr2 "$(php_drupal7 P2)" --arg dr3 "$(php_drupal7 P3)" \
  --arg as1 "$A1" --arg ss1 "$S1" --arg as3 "$A3" --arg ss3 "$S3" \
  --arg ge1 "$(php_bcrypt P1)" --arg ge2 "$(py_django P2 sha256)" --arg ge3 "$(php_bcrypt P3)" \
  --arg p1 "$P1" --arg p2 "$P2" --arg p3 "$P3" \
  '{passwords: [$p1, $p2, $p3],
    sources: {
      wordpress: "passlib phpass (rounds 8) for users 1 and 3; PHP 8.2 with WordPress 6.8 wp_hash_password algorithm ($wp$2y$, bcrypt cost 5) for user 2",
      django: "Django 3.2 PBKDF2PasswordHasher / PBKDF2SHA1PasswordHasher, 1000 iterations",
      laravel: "PHP 8.2 password_hash PASSWORD_BCRYPT cost 5 ($2y$)",
      drupal7: "Drupal 7 password.inc _password_crypt ported to PHP 8.2 ($S$, 2^10)",
      "aspnet-membership": "SqlMembershipProvider SHA1 algorithm in Python hashlib; user 2 stored in clear (PasswordFormat 0)",
      generic: "PHP 8.2 password_hash bcrypt cost 5 for users 1 and 3, Django 3.2 pbkdf2_sha256 for user 2"},
    wordpress: [$wp1, $wp2, $wp3],
    django: [$dj1, $dj2, $dj3],
    laravel: [$lv1, $lv2, $lv3],
    drupal7: [$dr1, $dr2, $dr3],
    "aspnet-membership": [{hash: $as1, salt: $ss1}, {hash: $p2, salt: ""}, {hash: $as3, salt: $ss3}],
    generic: [$ge1, $ge2, $ge3]}' > hashes.json
