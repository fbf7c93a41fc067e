-- Email keys are written anew, in Go, after this statement and in its
-- transaction (migrate.go, migrationSteps): a key is now the address in
-- Unicode NFC with its domain in Unicode, in lower case (account.EmailKey).
SELECT 1;
