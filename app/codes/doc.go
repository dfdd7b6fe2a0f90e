// Package codes owns discount-code strings: their format, generation, validation
// and CSV import/export.
//
// It answers four questions for the rest of coupontrail:
//
//   - What does a code look like? [Format] (prefix, random length, optional check
//     character, optional separator/grouping) over [Alphabet], a 31-symbol
//     alphabet without the look-alikes 0/O and 1/I/L.
//   - Can N codes of this format be made at all? [CheckKeyspace] refuses up front,
//     with the numbers, when a batch would fill too much of the keyspace
//     ([KeyspaceError]) or pass Shopify's 20,000,000 codes-per-store cap
//     ([StoreCapError]).
//   - How are they made, fast? [Generator] draws from a buffered
//     cryptographically secure stream with rejection sampling (no modulo bias),
//     drops codes containing offensive words, and never repeats a code within a
//     run. [Generator.Stream] hands out reusable batches for a COPY writer with
//     flat memory: the only state that grows is a Bloom-filter dedupe set of
//     about 1.5 bytes per code.
//   - How do codes move in and out as files? [ParseCSV] and [WriteCSV].
//
// Uniqueness per shop is a two-level design: the generator guarantees no
// duplicates within a run, and the database's unique index with
// INSERT ... ON CONFLICT DO NOTHING (plus regeneration on Shopify's TAKEN)
// handles codes made by earlier runs or by the merchant.
//
// The package is pure: standard library only, no I/O of its own, randomness is
// passed in as an io.Reader (crypto/rand.Reader in production) and there are no
// mutable globals. It must not import Echo, gorm, asynq or any coupontrail
// package.
package codes
