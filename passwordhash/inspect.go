package passwordhash

// Info describes a stored hash, so a caller can decide whether to adopt it
// as-is instead of rehashing it on the next login.
type Info struct {
	Format     string        // as Detect
	BcryptCost int           // Format "bcrypt" only; 0 otherwise
	Argon2     *Argon2Params // Format "argon2id" or "argon2i" only; nil otherwise
	// MaxPasswordBytes is how many leading bytes of a password the format
	// reads (72 for bcrypt, as PHP, Go and libxcrypt verify it); 0 means all.
	// A hash of such a format made for a longer password is lossy: any
	// password with the same first MaxPasswordBytes bytes matches it.
	MaxPasswordBytes int
}

// BcryptMaxPasswordBytes is how many bytes of a password bcrypt reads.
const BcryptMaxPasswordBytes = 72

// Argon2Params are the parameters of a PHC argon2 hash.
type Argon2Params struct {
	Variant   string // "argon2id" or "argon2i"
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int // bytes of salt
	KeyLen    int // bytes of derived key
}

// Inspect detects the format of value. For bcrypt and argon2 hashes it
// parses the whole hash and returns its cost parameters, or an error
// wrapping ErrMalformed when Verify could not use it; for other formats it
// only reports the detected format. A bcrypt or argon2 hash that Inspect
// accepts is a standard modular-crypt/PHC string that any bcrypt or argon2
// library can verify, so it can be stored as-is.
func Inspect(value string) (Info, error) {
	name, err := Detect(value)
	if err != nil {
		return Info{}, err
	}
	if len(value) > maxValueLen {
		return Info{}, malformed(name, errTooLong.Error())
	}
	info := Info{Format: name}
	switch name {
	case FormatBcrypt:
		cost, err := parseBcrypt(value)
		if err != nil {
			return Info{}, malformed(name, err.Error())
		}
		info.BcryptCost = cost
		info.MaxPasswordBytes = BcryptMaxPasswordBytes
	case FormatDjangoBcrypt: // bcrypt without Django's SHA-256 pre-hash
		info.MaxPasswordBytes = BcryptMaxPasswordBytes
	case FormatArgon2id, FormatArgon2i:
		a, err := parseArgon2(value)
		if err != nil {
			return Info{}, malformed(name, err.Error())
		}
		p := a.params
		info.Argon2 = &p
	}
	return info, nil
}
