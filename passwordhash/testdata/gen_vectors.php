<?php
// Generate passwordhash test vectors with PHP and WordPress's phpass.
//
// Run on Debian (bookworm) after `apt-get install -y php-cli` and with
// WordPress's wp-includes/class-phpass.php available (from Debian's
// `wordpress` package: `apt-get install wordpress`, or
// `apt-get download wordpress && dpkg-deb -x wordpress_*.deb /tmp/wp`):
//
//     WP_PHPASS=/tmp/wp/usr/share/wordpress/wp-includes/class-phpass.php \
//         php gen_vectors.php > vectors_php.json
//
// Sources: PHP's password_hash() and crypt(), WordPress's PasswordHash
// class (phpass 0.5), WordPress 6.8's wp_hash_password() expression
// (copied below; Debian ships WordPress 6.1, which predates it), and PHP's
// hash() for generic salted digests.

$phpass = getenv('WP_PHPASS') ?: '/usr/share/wordpress/wp-includes/class-phpass.php';
require_once $phpass;

$passwords = ['password', 'pässwörd €', 'пароль 密码 🔑'];
$wrong = 'Password';
$out = [];

function add(&$out, $format, $value, $password, $source, $extra = []) {
    global $wrong;
    $out[] = array_merge([
        'format' => $format,
        'value' => $value,
        'password' => $password,
        'wrong' => $wrong,
        'source' => $source,
        'detect' => true,
    ], $extra);
}

// wp_hash_password() of WordPress 6.8 (wp-includes/pluggable.php), bcrypt branch.
function wp68_hash_password($password) {
    $password_to_hash = base64_encode(hash_hmac('sha384', trim($password), 'wp-sha384', true));
    return '$wp' . password_hash($password_to_hash, PASSWORD_BCRYPT, ['cost' => 4]);
}

$php = 'PHP ' . PHP_VERSION;
$wp = new PasswordHash(8, true);
foreach ($passwords as $pw) {
    add($out, 'bcrypt', password_hash($pw, PASSWORD_BCRYPT, ['cost' => 4]), $pw, "$php password_hash() \$2y\$");
    add($out, 'phpass', $wp->HashPassword($pw), $pw, 'WordPress 6.1 (Debian) class-phpass.php PasswordHash(8, true)');
    add($out, 'wordpress', wp68_hash_password($pw), $pw, "WordPress 6.8 wp_hash_password() expression on $php");
    add($out, 'md5-crypt', crypt($pw, '$1$rasmusle$'), $pw, "$php crypt()");
    add($out, 'sha256-crypt', crypt($pw, '$5$rounds=1000$usesomesillystri$'), $pw, "$php crypt()");
    add($out, 'sha512-crypt', crypt($pw, '$6$rounds=1000$usesomesillystri$'), $pw, "$php crypt()");
    // Generic salted digests, one per configuration.
    $salt = 'Xy9$k2';
    foreach (['md5', 'sha1', 'sha256', 'sha512'] as $algo) {
        add($out, "salted-$algo", hash($algo, $salt . $pw), $pw, "$php hash('$algo', salt.password)",
            ['salt' => $salt, 'detect' => false, 'config' => ['salted' => ['position' => 'prefix', 'encoding' => 'hex']]]);
        add($out, "salted-$algo", hash($algo, $pw . $salt), $pw, "$php hash('$algo', password.salt)",
            ['salt' => $salt, 'detect' => false, 'config' => ['salted' => ['position' => 'suffix', 'encoding' => 'hex']]]);
        add($out, "salted-$algo", base64_encode(hash($algo, $pw . $salt, true)), $pw, "$php base64(hash('$algo', password.salt))",
            ['salt' => $salt, 'detect' => false, 'config' => ['salted' => ['encoding' => 'base64']]]);
        $bsalt = random_bytes(8);
        add($out, "salted-$algo", hash($algo, $bsalt . $pw), $pw, "$php hash('$algo', binary salt.password), salt stored as hex",
            ['salt' => bin2hex($bsalt), 'detect' => false, 'config' => ['salted' => ['position' => 'prefix', 'salt_encoding' => 'hex']]]);
    }
}
// WordPress trims the password before hashing it (and wp_authenticate
// trims it before checking).
add($out, 'wordpress', wp68_hash_password('  spaced  '), '  spaced  ', 'WordPress 6.8 wp_hash_password() expression: trimmed password');
add($out, 'wordpress', wp68_hash_password('  spaced  '), 'spaced', 'WordPress 6.8 wp_hash_password() expression: trimmed password');
// Long passwords: the HMAC pre-hash keeps bytes past 72.
$long = str_repeat('x', 100);
add($out, 'wordpress', wp68_hash_password($long), $long, 'WordPress 6.8 wp_hash_password() expression: 100-byte password', ['wrong' => str_repeat('x', 99) . 'y']);

echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
