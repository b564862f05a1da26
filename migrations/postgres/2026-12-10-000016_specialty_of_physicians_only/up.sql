-- Only a physician has a specialty (issue 25): a professional re-categorised before the category
-- change cleared it kept his, and the directory's `?specialty=` still listed him.
DELETE FROM professional_specialties
WHERE professional_id IN (SELECT id FROM professionals WHERE category <> 'physician');
