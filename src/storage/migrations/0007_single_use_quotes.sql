-- A router quote executes once: taken before anything is signed (taken_at), then naming the transaction it sent
-- (taken_by). A quote taken but whose execution sent nothing is released again.
ALTER TABLE quotes ADD COLUMN taken_at BIGINT;
ALTER TABLE quotes ADD COLUMN taken_by TEXT;
