// Package realpg proves paymux end to end on each real PG adapter: a real
// paymux (app.New, on SQLite and PostgreSQL) talks to the repository's fake
// of the PG's published API, and the tests drive it only through paymux's
// own API, its pages and the PG's fake window, as a merchant and a buyer
// would. It holds tests only.
package realpg
