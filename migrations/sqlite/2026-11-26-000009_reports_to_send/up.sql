-- The secretary's worklist of validated reports not yet sent to every default recipient (the
-- requester, the patient's treating physician and correspondents). A row per such dossier, kept
-- in step by validation, sending and changes of the patient's physicians, so the list reads
-- what waits, not a physician's whole history.
CREATE TABLE reports_to_send (
    dossier_id TEXT PRIMARY KEY REFERENCES dossiers (id),
    requester_id TEXT NOT NULL REFERENCES professionals (id),
    validated_at TIMESTAMP NOT NULL
);
CREATE INDEX reports_to_send_requester ON reports_to_send (requester_id, validated_at, dossier_id);

-- Validated dossiers whose report some default recipient has not received yet.
INSERT INTO reports_to_send (dossier_id, requester_id, validated_at)
    SELECT d.id, d.requester_id, d.validated_at
    FROM dossiers d JOIN patients p ON p.id = d.patient_id
    WHERE d.status = 'validated' AND d.validated_at IS NOT NULL AND (
        NOT EXISTS (SELECT 1 FROM report_transmissions t JOIN report_transmission_recipients r ON r.transmission_id = t.id
                    WHERE t.dossier_id = d.id AND r.recipient_id = d.requester_id)
        OR (p.treating_physician_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM report_transmissions t JOIN report_transmission_recipients r ON r.transmission_id = t.id
                WHERE t.dossier_id = d.id AND r.recipient_id = p.treating_physician_id))
        OR EXISTS (SELECT 1 FROM patient_correspondents c WHERE c.patient_id = p.id AND NOT EXISTS (
                SELECT 1 FROM report_transmissions t JOIN report_transmission_recipients r ON r.transmission_id = t.id
                WHERE t.dossier_id = d.id AND r.recipient_id = c.professional_id)));

-- The multicriteria search by session dates.
CREATE INDEX dossiers_rcp_session ON dossiers (rcp_id, session_id);
