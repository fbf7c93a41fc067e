package api

import "time"

// User is a person with an account, as the API shows it to that person.
type User struct {
	ID          string    `json:"id" validate:"required" example:"usr_01j9z3k4m5n6p7q8r9s0t1v2w3"`
	Email       string    `json:"email" validate:"required" example:"ana@example.com"`
	DisplayName string    `json:"display_name" validate:"required" example:"Ana"`
	TimeZone    string    `json:"time_zone" validate:"required" example:"Europe/Berlin"`
	CreatedAt   time.Time `json:"created_at" validate:"required" format:"date-time"`
	UpdatedAt   time.Time `json:"updated_at" validate:"required" format:"date-time"`
} // @name User

// RegisterRequest creates an account.
type RegisterRequest struct {
	// A plain email address, unique regardless of case.
	Email string `json:"email" validate:"required" maxLength:"254" example:"ana@example.com"`
	// 8 to 256 characters.
	Password string `json:"password" validate:"required" minLength:"8" maxLength:"256" example:"correct horse battery staple"`
	// 1 to 100 characters.
	DisplayName string `json:"display_name" validate:"required" maxLength:"100" example:"Ana"`
	// An IANA time zone name.
	TimeZone string `json:"time_zone" validate:"required" example:"Europe/Berlin"`
} // @name RegisterRequest

// LoginRequest starts a session with an email and password.
type LoginRequest struct {
	Email    string `json:"email" validate:"required" example:"ana@example.com"`
	Password string `json:"password" validate:"required" example:"correct horse battery staple"`
} // @name LoginRequest

// RefreshRequest exchanges a refresh token for new tokens.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required"`
} // @name RefreshRequest

// LogoutRequest revokes a refresh token and every token rotated from the same login.
type LogoutRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required"`
} // @name LogoutRequest

// AuthResponse is a new session: the user and a pair of tokens.
type AuthResponse struct {
	User User `json:"user" validate:"required"`
	// A JWT (EdDSA) to send as "Authorization: Bearer <token>".
	AccessToken string `json:"access_token" validate:"required"`
	// An opaque token for POST /v1/auth/refresh; each use returns a new one.
	RefreshToken string `json:"refresh_token" validate:"required"`
	// Always "Bearer".
	TokenType string `json:"token_type" validate:"required" example:"Bearer"`
	// Seconds until the access token expires.
	ExpiresIn int64 `json:"expires_in" validate:"required" format:"int64" example:"900"`
	// When the refresh token expires.
	RefreshTokenExpiresAt time.Time `json:"refresh_token_expires_at" validate:"required" format:"date-time"`
} // @name AuthResponse

// UpdateMeRequest changes the caller's profile; absent fields stay as they are.
type UpdateMeRequest struct {
	DisplayName *string `json:"display_name,omitempty" maxLength:"100" example:"Ana"`
	TimeZone    *string `json:"time_zone,omitempty" example:"America/New_York"`
} // @name UpdateMeRequest

// JWKS is a JSON Web Key Set: the public keys that verify access tokens.
type JWKS struct {
	Keys []JWK `json:"keys" validate:"required"`
} // @name JWKS

// JWK is one Ed25519 public key (RFC 8037).
type JWK struct {
	Kty string `json:"kty" validate:"required" example:"OKP"`
	Crv string `json:"crv" validate:"required" example:"Ed25519"`
	X   string `json:"x" validate:"required"`
	Kid string `json:"kid" validate:"required"`
	Alg string `json:"alg" validate:"required" example:"EdDSA"`
	Use string `json:"use" validate:"required" example:"sig"`
} // @name JWK
