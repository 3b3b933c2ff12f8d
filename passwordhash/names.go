package passwordhash

// Format names accepted in Hash.Format and returned by Detect and Inspect.
const (
	FormatBcrypt = "bcrypt" // $2a$, $2b$, $2y$

	FormatArgon2id = "argon2id" // PHC $argon2id$v=19$m=…,t=…,p=…$salt$hash
	FormatArgon2i  = "argon2i"  // PHC $argon2i$…

	FormatScrypt = "scrypt" // PHC/passlib $scrypt$ln=…,r=…,p=…$salt$hash

	FormatPBKDF2SHA1   = "pbkdf2-sha1"   // passlib $pbkdf2$… and PHC $pbkdf2-sha1$…
	FormatPBKDF2SHA256 = "pbkdf2-sha256" // $pbkdf2-sha256$…
	FormatPBKDF2SHA512 = "pbkdf2-sha512" // $pbkdf2-sha512$…

	FormatDjangoPBKDF2SHA256 = "django-pbkdf2-sha256" // pbkdf2_sha256$iter$salt$hash
	FormatDjangoPBKDF2SHA1   = "django-pbkdf2-sha1"   // pbkdf2_sha1$iter$salt$hash
	FormatDjangoBcryptSHA256 = "django-bcrypt-sha256" // bcrypt_sha256$$2b$…
	FormatDjangoBcrypt       = "django-bcrypt"        // bcrypt$$2b$…
	FormatDjangoArgon2       = "django-argon2"        // argon2$argon2id$…
	FormatDjangoScrypt       = "django-scrypt"        // scrypt$salt$hash… (Django ≥ 4)
	FormatDjangoSHA1         = "django-sha1"          // sha1$salt$hexdigest
	FormatDjangoMD5          = "django-md5"           // md5$salt$hexdigest

	FormatPHPass    = "phpass"    // $P$ (WordPress) and $H$ (phpBB)
	FormatWordPress = "wordpress" // WordPress ≥ 6.8 $wp$2y$…

	FormatDrupal7    = "drupal7"     // $S$
	FormatDrupal7MD5 = "drupal7-md5" // U$S$ (and U$P$/U$H$): Drupal 6 md5 hashes rehashed by Drupal 7

	FormatASPNetIdentityV2 = "aspnet-identity-v2" // base64, marker 0x00
	FormatASPNetIdentityV3 = "aspnet-identity-v3" // base64, marker 0x01

	FormatASPNetMembershipSHA1   = "aspnet-membership-sha1"   // base64(SHA1(salt + UTF-16LE(password))), salt in Hash.Salt
	FormatASPNetMembershipSHA256 = "aspnet-membership-sha256" // base64(SHA256(salt + UTF-16LE(password))), salt in Hash.Salt
	FormatASPNetMembershipClear  = "aspnet-membership-clear"  // PasswordFormat 0: stored as-is

	FormatMD5Crypt    = "md5-crypt"    // $1$
	FormatSHA256Crypt = "sha256-crypt" // $5$
	FormatSHA512Crypt = "sha512-crypt" // $6$

	FormatLDAPSHA     = "ldap-sha"     // {SHA}
	FormatLDAPSSHA    = "ldap-ssha"    // {SSHA}
	FormatLDAPSSHA256 = "ldap-ssha256" // {SSHA256}
	FormatLDAPSSHA512 = "ldap-ssha512" // {SSHA512}
	FormatLDAPCrypt   = "ldap-crypt"   // {CRYPT} followed by a crypt(3) hash

	FormatSaltedMD5    = "salted-md5"    // digest with Hash.Salt, see SaltedConfig
	FormatSaltedSHA1   = "salted-sha1"   // digest with Hash.Salt, see SaltedConfig
	FormatSaltedSHA256 = "salted-sha256" // digest with Hash.Salt, see SaltedConfig
	FormatSaltedSHA512 = "salted-sha512" // digest with Hash.Salt, see SaltedConfig

	FormatFirebaseScrypt = "firebase-scrypt" // base64 hash, base64 salt in Hash.Salt, see FirebaseConfig
)
