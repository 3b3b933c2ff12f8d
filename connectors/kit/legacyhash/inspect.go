package legacyhash

// Info describes a stored hash, so a caller can decide whether to adopt it
// as-is instead of rehashing it on the next login.
type Info struct {
	Format     string        // as Detect
	BcryptCost int           // Format "bcrypt" only; 0 otherwise
	Argon2     *Argon2Params // Format "argon2id" or "argon2i" only; nil otherwise
}

// Argon2Params are the parameters of a PHC argon2 hash.
type Argon2Params struct {
	Variant   string // "argon2id" or "argon2i"
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Inspect detects the format of value and, for bcrypt and argon2 hashes,
// returns their cost parameters. It validates the hash as Verify would and
// returns an error wrapping ErrMalformed when it could not be verified.
func Inspect(value string) (Info, error) {
	name, err := Detect(value)
	if err != nil {
		return Info{}, err
	}
	info := Info{Format: name}
	switch name {
	case FormatBcrypt:
		cost, err := parseBcrypt(value)
		if err != nil {
			return Info{}, malformed(name, err.Error())
		}
		info.BcryptCost = cost
	}
	return info, nil
}
