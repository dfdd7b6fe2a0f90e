// Package smartlink holds the pure rules of SmartLinks (GET /l/{slug}):
// slug and click id generation, bot and device classification of a user
// agent, the visitor's country from edge headers, geo/device routing, and
// the landing URL that carries the click id and UTM tags.
//
// It imports no database, HTTP framework or Shopify code: randomness comes
// in as an io.Reader, requests as plain strings. app/api_links.go wires it
// to the store and Echo.
package smartlink
