package server_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/troth-app/troth/internal/server/servertest"
	"github.com/troth-app/troth/internal/store/storetest"
	"github.com/troth-app/troth/internal/token"
)

// activeKey returns the server's current signing key.
func activeKey(t *testing.T, app *servertest.App) token.Key {
	t.Helper()
	keys, err := app.Server.DB.Keys().SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.RetiredAt == nil {
			return k
		}
	}
	t.Fatal("no active key")
	return token.Key{}
}

func TestAccessTokenAttacksAreRefused(t *testing.T) {
	app := servertest.New(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)})
	u := app.Register("Eve")
	key := activeKey(t, app)
	now := app.Clock.Now()

	good := func() jwt.MapClaims {
		return jwt.MapClaims{
			"iss": app.Config.Issuer, "aud": app.Config.Audience, "sub": u.ID, "jti": "j1",
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
	}
	sign := func(claims jwt.MapClaims, mutate func(*jwt.Token)) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		tok.Header["kid"] = key.KID
		if mutate != nil {
			mutate(tok)
		}
		s, err := tok.SignedString(key.Private)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }

	// The control: a correctly made token is accepted, so the refusals
	// below are about what each case changes.
	if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: sign(good(), nil)}); res.Status != http.StatusOK {
		t.Fatalf("well-formed token refused: %d %s", res.Status, res.Body)
	}

	// alg "none": header and claims, empty signature.
	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	none := b64(map[string]string{"alg": "none", "typ": "JWT", "kid": key.KID}) + "." + b64(good()) + "."

	// HS256 with the public key as the HMAC secret (key-confusion attack).
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
	hs.Header["kid"] = key.KID
	confused, err := hs.SignedString([]byte(key.Public))
	if err != nil {
		t.Fatal(err)
	}
	// A token signed by a key the server does not know, under its kid.
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, good())
	forged.Header["kid"] = key.KID
	forgedStr, _ := forged.SignedString(otherPriv)

	valid := sign(good(), nil)
	parts := strings.Split(valid, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	tampered := parts[0] + "." + parts[1] + "." + string(sig)
	payloadSwap := parts[0] + "." + b64(with("sub", "usr_someoneelse")) + "." + parts[2]

	cases := map[string]string{
		"alg none":              none,
		"HS256 with public key": confused,
		"foreign key":           forgedStr,
		"expired":               sign(with("exp", now.Add(-2*time.Minute).Unix()), nil),
		"missing exp":           sign(without("exp"), nil),
		"missing iat":           sign(without("iat"), nil),
		"wrong aud":             sign(with("aud", "someone-else"), nil),
		"wrong iss":             sign(with("iss", "https://evil.example"), nil),
		"future iat":            sign(with("iat", now.Add(10*time.Minute).Unix()), nil),
		"future nbf":            sign(with("nbf", now.Add(10*time.Minute).Unix()), nil),
		"missing sub":           sign(without("sub"), nil),
		"tampered signature":    tampered,
		"swapped payload":       payloadSwap,
		"unknown kid":           sign(good(), func(t *jwt.Token) { t.Header["kid"] = "nope" }),
		"missing kid":           sign(good(), func(t *jwt.Token) { delete(t.Header, "kid") }),
		"garbage":               "not.a.jwt",
		"empty":                 " ",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Header: map[string]string{"Authorization": "Bearer " + tok}})
			p := decodeProblem(t, res)
			if res.Status != http.StatusUnauthorized || p.Code != "invalid_token" {
				t.Fatalf("got %d %+v, want 401 invalid_token", res.Status, p)
			}
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me"})
		if p := decodeProblem(t, res); res.Status != http.StatusUnauthorized || p.Code != "unauthenticated" {
			t.Fatalf("got %d %+v", res.Status, p)
		}
	})
	t.Run("basic scheme", func(t *testing.T) {
		res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Header: map[string]string{"Authorization": "Basic " + valid}})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("got %d", res.Status)
		}
	})
}

// A client verifies an access token offline with the JWKS and nothing else.
func TestAccessTokenVerifiesWithJWKS(t *testing.T) {
	app := servertest.New(t, storetest.Backend{Name: "sqlite", DSN: storetest.SQLite(t)})
	u := app.Register("Fay")
	res := app.Do(servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"})
	if res.Status != http.StatusOK {
		t.Fatalf("jwks: %d", res.Status)
	}
	var set struct {
		Keys []struct{ Kty, Crv, X, Kid, Alg, Use string }
	}
	res.JSON(t, &set)
	keyFunc := func(tok *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tok.Header["kid"] && k.Kty == "OKP" && k.Crv == "Ed25519" {
				x, err := base64.RawURLEncoding.DecodeString(k.X)
				return ed25519.PublicKey(x), err
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(u.AccessToken, claims, keyFunc,
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithAudience(app.Config.Audience),
		jwt.WithIssuer(app.Config.Issuer), jwt.WithExpirationRequired(), jwt.WithTimeFunc(app.Clock.Now))
	if err != nil {
		t.Fatalf("verify with JWKS: %v", err)
	}
	if claims["sub"] != u.ID || claims["jti"] == "" {
		t.Fatalf("claims %v", claims)
	}
}

// After a rotation, tokens signed by the old key keep working until they
// expire, both keys are published, and new tokens use the new key.
func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b storetest.Backend) {
		app := servertest.New(t, b)
		u := app.Register("Gus")
		old := activeKey(t, app)
		if _, err := token.Rotate(context.Background(), app.Server.DB.Keys(), app.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if res := app.Do(servertest.Request{Method: "GET", Path: "/v1/me", Token: u.AccessToken}); res.Status != http.StatusOK {
			t.Fatalf("old token after rotation: %d", res.Status)
		}
		// The server picks the new key up within its reload interval.
		app.Clock.Advance(31 * time.Second)
		login := app.Do(servertest.Request{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": u.Email, "password": u.Password}})
		var s authBody
		login.JSON(t, &s)
		tok, _, err := jwt.NewParser().ParseUnverified(s.AccessToken, jwt.MapClaims{})
		if err != nil {
			t.Fatal(err)
		}
		if tok.Header["kid"] == old.KID {
			t.Fatal("new tokens are still signed with the retired key")
		}
		var set struct{ Keys []struct{ Kid string } }
		app.Do(servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"}).JSON(t, &set)
		if len(set.Keys) != 2 {
			t.Fatalf("JWKS has %d keys during the overlap, want 2", len(set.Keys))
		}
		// Once the old key's tokens have all expired it is withdrawn.
		app.Clock.Advance(app.Config.AccessTokenTTL + 2*time.Minute)
		set.Keys = nil
		app.Do(servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"}).JSON(t, &set)
		if len(set.Keys) != 1 || set.Keys[0].Kid == old.KID {
			t.Fatalf("JWKS after the overlap: %+v", set.Keys)
		}
	})
}
