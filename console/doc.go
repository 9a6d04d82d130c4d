// Package console owns the people who use the web console at /console:
// console users (email and an argon2id password hash), their role in each
// store, their sessions and the one-time links that set a password.
//
//   - Sign-in, sign-out and the password links are plain JSON endpoints
//     under /console/auth/ (Handler), because they set and clear the
//     session cookie. Everything else the console shows or changes goes
//     through paymux's own API, where the policy chain calls
//     Service.Authenticate with the cookie, the CSRF header and the store
//     the call acts on, and gets back an account.User with the role.
//   - A session is a random token in an HttpOnly, SameSite=Strict cookie;
//     only its keyed hash is stored. It ends after console.idle_timeout
//     unused, after console.session_lifetime at the latest, or on sign-out.
//     Every call made with it carries a CSRF token derived from it.
//   - console.max_failed_sign_ins wrong passwords in a row lock the user out
//     for console.lockout.
//   - The first run (and every start while no console user exists) makes a
//     one-time link for the first owner, who becomes the platform
//     administrator and the owner of the first store.
//   - Members: a store's OWNER invites people with a role and changes or
//     takes roles; a store always keeps an OWNER.
//
// Rows are read and written in System contexts only: no store key reaches
// them through ent privacy.
package console
