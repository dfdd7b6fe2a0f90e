//go:build race

package codes

const raceEnabled = true
