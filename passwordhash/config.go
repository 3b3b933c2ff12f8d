package passwordhash

// Config configures the formats that need settings outside the hash. The
// zero value is usable: salted digests default to salt-as-suffix and hex
// encoding, and Firebase scrypt is disabled until configured.
type Config struct {
	// Salted configures salted-md5, salted-sha1, salted-sha256 and
	// salted-sha512.
	Salted SaltedConfig `yaml:"salted"`
	// Firebase configures firebase-scrypt with the project's hash
	// parameters (Firebase console → Authentication → password hash
	// parameters).
	Firebase FirebaseConfig `yaml:"firebase"`
}

// SaltedConfig describes how a salted digest was made: digest(salt+password)
// or digest(password+salt), stored as hex or base64. The salt comes from
// Hash.Salt.
type SaltedConfig struct {
	// Position is where the salt goes: "prefix" (digest(salt+password)) or
	// "suffix" (digest(password+salt)). Default "suffix".
	Position string `yaml:"position"`
	// Encoding of the stored digest: "hex" or "base64". Default "hex".
	Encoding string `yaml:"encoding"`
	// SaltEncoding is how Hash.Salt is stored: "raw" (its bytes are used
	// as-is), "hex" or "base64". Default "raw".
	SaltEncoding string `yaml:"salt_encoding"`
}

// FirebaseConfig holds a Firebase project's scrypt parameters.
type FirebaseConfig struct {
	SignerKey     string `yaml:"signer_key"`     // base64
	SaltSeparator string `yaml:"salt_separator"` // base64
	Rounds        int    `yaml:"rounds"`         // scrypt r, 1..8
	MemCost       int    `yaml:"mem_cost"`       // scrypt N = 2^mem_cost, 1..14
}
