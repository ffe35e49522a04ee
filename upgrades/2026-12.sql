-- Upgrade a MySQL/MariaDB database made by schema.sql before December 2026 to today's schema.sql.
-- Run once, as the schema owner, with xmlcurl stopped or running (the ALTERs lock their tables
-- briefly):  mysql xmlcurl < upgrades/2026-12.sql
-- tests/upgrade/test_upgrade.py loads the previous schema with the demo data, runs this file and
-- compares every table, column, index, constraint, trigger and view with a database made by
-- today's schema.sql.

-- Audit entries of batch work (an import, a bulk action, a range of users) list every row.
ALTER TABLE audit_log MODIFY before_json MEDIUMTEXT, MODIFY after_json MEDIUMTEXT;

-- A random epoch beside the version, so versions never repeat across a re-created database.
ALTER TABLE config_version ADD COLUMN epoch VARCHAR(32) NOT NULL DEFAULT '' AFTER changed_at;
UPDATE config_version SET epoch = MD5(CONCAT(UUID(), RAND())) WHERE id = 1;
ALTER TABLE config_version ALTER COLUMN epoch DROP DEFAULT;

-- A node's optional session database DSN (Fernet-encrypted like its event-socket password).
ALTER TABLE nodes ADD COLUMN session_db_dsn_enc VARCHAR(2048) AFTER updated_at;

-- Usernames compared byte for byte (one account, one login throttle); sessions ended server-side.
ALTER TABLE admin_users MODIFY username VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
  ADD COLUMN session_generation INT NOT NULL DEFAULT '0' AFTER updated_at;

-- A DID in a tenant's stock may ring nobody yet.
ALTER TABLE dids MODIFY user_id INT NULL;

-- New tables, indexes and triggers, as schema.sql defines them.

CREATE TABLE login_failures (
  id BIGINT NOT NULL AUTO_INCREMENT,
  subject VARCHAR(80) NOT NULL,
  address VARCHAR(45) NOT NULL,
  failed_at DATETIME NOT NULL,
  CONSTRAINT pk_login_failures PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX ix_login_failures_subject_address ON login_failures (subject, address, failed_at);

CREATE INDEX ix_login_failures_failed_at ON login_failures (failed_at);

CREATE TABLE approved_caller_ids (
  id INT NOT NULL AUTO_INCREMENT,
  tenant_id INT NOT NULL,
  number VARCHAR(32) NOT NULL,
  note VARCHAR(128),
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT pk_approved_caller_ids PRIMARY KEY (id),
  CONSTRAINT uq_approved_caller_ids_tenant_id_number UNIQUE (tenant_id, number),
  CONSTRAINT fk_approved_caller_ids_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE cluster_node_state (
  node_id INT NOT NULL,
  up BOOL,
  since DATETIME NOT NULL,
  polled_at DATETIME NOT NULL,
  seen_at DATETIME,
  missed_polls INT NOT NULL DEFAULT '0',
  error VARCHAR(255),
  uptime_seconds BIGINT,
  version VARCHAR(128),
  calls INT,
  sessions_per_second INT,
  max_sessions INT,
  CONSTRAINT pk_cluster_node_state PRIMARY KEY (node_id),
  CONSTRAINT fk_cluster_node_state_node_id FOREIGN KEY(node_id) REFERENCES nodes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE cluster_profile_state (
  node_id INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  state VARCHAR(64) NOT NULL,
  seen_at DATETIME NOT NULL,
  CONSTRAINT pk_cluster_profile_state PRIMARY KEY (node_id, name),
  CONSTRAINT fk_cluster_profile_state_node_id FOREIGN KEY(node_id) REFERENCES nodes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE cluster_gateway_state (
  node_id INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  profile VARCHAR(64) NOT NULL,
  state VARCHAR(32) NOT NULL,
  status VARCHAR(16) NOT NULL,
  ping_ms FLOAT,
  calls_in INT NOT NULL DEFAULT '0',
  calls_out INT NOT NULL DEFAULT '0',
  failed_calls_in INT NOT NULL DEFAULT '0',
  failed_calls_out INT NOT NULL DEFAULT '0',
  changed_at DATETIME NOT NULL,
  seen_at DATETIME NOT NULL,
  CONSTRAINT pk_cluster_gateway_state PRIMARY KEY (node_id, name),
  CONSTRAINT fk_cluster_gateway_state_node_id FOREIGN KEY(node_id) REFERENCES nodes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE cluster_registrations (
  id BIGINT NOT NULL AUTO_INCREMENT,
  node_id INT NOT NULL,
  tenant_id INT,
  reg_user VARCHAR(64) NOT NULL,
  realm VARCHAR(253) NOT NULL,
  contact VARCHAR(512) NOT NULL,
  network_ip VARCHAR(45) NOT NULL,
  network_port INT,
  network_proto VARCHAR(8) NOT NULL,
  expires_at DATETIME,
  seen_at DATETIME NOT NULL,
  CONSTRAINT pk_cluster_registrations PRIMARY KEY (id),
  CONSTRAINT fk_cluster_registrations_node_id FOREIGN KEY(node_id) REFERENCES nodes (id) ON DELETE CASCADE,
  CONSTRAINT fk_cluster_registrations_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_cluster_registrations_node_id ON cluster_registrations (node_id);

CREATE INDEX ix_cluster_registrations_tenant_id ON cluster_registrations (tenant_id);

CREATE TABLE cluster_tenant_calls (
  node_id INT NOT NULL,
  tenant_id INT NOT NULL,
  calls INT NOT NULL DEFAULT '0',
  cps INT NOT NULL DEFAULT '0',
  seen_at DATETIME NOT NULL,
  CONSTRAINT pk_cluster_tenant_calls PRIMARY KEY (node_id, tenant_id),
  CONSTRAINT fk_cluster_tenant_calls_node_id FOREIGN KEY(node_id) REFERENCES nodes (id) ON DELETE CASCADE,
  CONSTRAINT fk_cluster_tenant_calls_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_cluster_tenant_calls_tenant_id ON cluster_tenant_calls (tenant_id);

CREATE TABLE cluster_monitor_lease (
  id INT NOT NULL,
  holder VARCHAR(128) NOT NULL,
  expires_at DATETIME NOT NULL,
  CONSTRAINT pk_cluster_monitor_lease PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER trg_approved_caller_ids_ai AFTER INSERT ON approved_caller_ids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;

CREATE TRIGGER trg_approved_caller_ids_au AFTER UPDATE ON approved_caller_ids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;

CREATE TRIGGER trg_approved_caller_ids_ad AFTER DELETE ON approved_caller_ids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;

CREATE TABLE config_changes (
  slot INT NOT NULL,
  version BIGINT NOT NULL,
  table_name VARCHAR(32) NOT NULL,
  tenant_id INT NOT NULL,
  detail VARCHAR(80) NULL,
  changed_at DATETIME(6) NOT NULL,
  CONSTRAINT pk_config_changes PRIMARY KEY (slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_config_changes_version ON config_changes (version);

CREATE TRIGGER trg_tenants_ai_scope AFTER INSERT ON tenants FOR EACH ROW FOLLOWS trg_tenants_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'tenants', COALESCE(NEW.id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_tenants_au_scope AFTER UPDATE ON tenants FOR EACH ROW FOLLOWS trg_tenants_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'tenants', CASE WHEN NEW.id = OLD.id THEN NEW.id WHEN NEW.id IS NULL AND OLD.id IS NULL THEN 0 ELSE -1 END, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_tenants_ad_scope AFTER DELETE ON tenants FOR EACH ROW FOLLOWS trg_tenants_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'tenants', COALESCE(OLD.id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_nodes_ai_scope AFTER INSERT ON nodes FOR EACH ROW FOLLOWS trg_nodes_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'nodes', 0, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_nodes_au_scope AFTER UPDATE ON nodes FOR EACH ROW FOLLOWS trg_nodes_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'nodes', 0, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_nodes_ad_scope AFTER DELETE ON nodes FOR EACH ROW FOLLOWS trg_nodes_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'nodes', 0, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_tenant_nodes_ai_scope AFTER INSERT ON tenant_nodes FOR EACH ROW FOLLOWS trg_tenant_nodes_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'tenant_nodes', COALESCE(NEW.tenant_id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_tenant_nodes_au_scope AFTER UPDATE ON tenant_nodes FOR EACH ROW FOLLOWS trg_tenant_nodes_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'tenant_nodes', CASE WHEN NEW.tenant_id = OLD.tenant_id THEN NEW.tenant_id WHEN NEW.tenant_id IS NULL AND OLD.tenant_id IS NULL THEN 0 ELSE -1 END, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_tenant_nodes_ad_scope AFTER DELETE ON tenant_nodes FOR EACH ROW FOLLOWS trg_tenant_nodes_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'tenant_nodes', COALESCE(OLD.tenant_id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_sip_users_ai_scope AFTER INSERT ON sip_users FOR EACH ROW FOLLOWS trg_sip_users_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'sip_users', COALESCE(NEW.tenant_id, 0), CASE WHEN LENGTH(NEW.username) = LENGTH(RTRIM(REPLACE(NEW.username, CHAR(10), ''))) THEN CONCAT('=', NEW.username) END, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_sip_users_au_scope AFTER UPDATE ON sip_users FOR EACH ROW FOLLOWS trg_sip_users_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'sip_users', CASE WHEN NEW.tenant_id = OLD.tenant_id THEN NEW.tenant_id WHEN NEW.tenant_id IS NULL AND OLD.tenant_id IS NULL THEN 0 ELSE -1 END, CASE WHEN HEX(NEW.username) = HEX(OLD.username) THEN CASE WHEN LENGTH(NEW.username) = LENGTH(RTRIM(REPLACE(NEW.username, CHAR(10), ''))) THEN CONCAT('=', NEW.username) END END, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_sip_users_ad_scope AFTER DELETE ON sip_users FOR EACH ROW FOLLOWS trg_sip_users_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'sip_users', COALESCE(OLD.tenant_id, 0), CASE WHEN LENGTH(OLD.username) = LENGTH(RTRIM(REPLACE(OLD.username, CHAR(10), ''))) THEN CONCAT('=', OLD.username) END, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_sip_user_variables_ai_scope AFTER INSERT ON sip_user_variables FOR EACH ROW FOLLOWS trg_sip_user_variables_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'sip_user_variables', COALESCE((SELECT u.tenant_id FROM sip_users u WHERE u.id = NEW.user_id), 0), (SELECT CASE WHEN LENGTH(u.username) = LENGTH(RTRIM(REPLACE(u.username, CHAR(10), ''))) THEN CONCAT('=', u.username) END FROM sip_users u WHERE u.id = NEW.user_id), v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_sip_user_variables_au_scope AFTER UPDATE ON sip_user_variables FOR EACH ROW FOLLOWS trg_sip_user_variables_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'sip_user_variables', CASE WHEN NEW.user_id = OLD.user_id THEN COALESCE((SELECT u.tenant_id FROM sip_users u WHERE u.id = NEW.user_id), 0) ELSE -1 END, CASE WHEN NEW.user_id = OLD.user_id THEN (SELECT CASE WHEN LENGTH(u.username) = LENGTH(RTRIM(REPLACE(u.username, CHAR(10), ''))) THEN CONCAT('=', u.username) END FROM sip_users u WHERE u.id = NEW.user_id) END, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_sip_user_variables_ad_scope AFTER DELETE ON sip_user_variables FOR EACH ROW FOLLOWS trg_sip_user_variables_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'sip_user_variables', COALESCE((SELECT u.tenant_id FROM sip_users u WHERE u.id = OLD.user_id), 0), (SELECT CASE WHEN LENGTH(u.username) = LENGTH(RTRIM(REPLACE(u.username, CHAR(10), ''))) THEN CONCAT('=', u.username) END FROM sip_users u WHERE u.id = OLD.user_id), v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_gateways_ai_scope AFTER INSERT ON gateways FOR EACH ROW FOLLOWS trg_gateways_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'gateways', 0, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_gateways_au_scope AFTER UPDATE ON gateways FOR EACH ROW FOLLOWS trg_gateways_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'gateways', 0, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_gateways_ad_scope AFTER DELETE ON gateways FOR EACH ROW FOLLOWS trg_gateways_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'gateways', 0, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_routes_ai_scope AFTER INSERT ON routes FOR EACH ROW FOLLOWS trg_routes_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'routes', COALESCE(NEW.tenant_id, 0), CONCAT('+', NEW.prefix), v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_routes_au_scope AFTER UPDATE ON routes FOR EACH ROW FOLLOWS trg_routes_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'routes', CASE WHEN NEW.tenant_id = OLD.tenant_id THEN NEW.tenant_id WHEN NEW.tenant_id IS NULL AND OLD.tenant_id IS NULL THEN 0 ELSE -1 END, CASE WHEN NEW.prefix = OLD.prefix THEN CONCAT('=', NEW.prefix) END, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_routes_ad_scope AFTER DELETE ON routes FOR EACH ROW FOLLOWS trg_routes_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'routes', COALESCE(OLD.tenant_id, 0), CONCAT('+', OLD.prefix), v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_dids_ai_scope AFTER INSERT ON dids FOR EACH ROW FOLLOWS trg_dids_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'dids', COALESCE(NEW.tenant_id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_dids_au_scope AFTER UPDATE ON dids FOR EACH ROW FOLLOWS trg_dids_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'dids', CASE WHEN NEW.tenant_id = OLD.tenant_id THEN NEW.tenant_id WHEN NEW.tenant_id IS NULL AND OLD.tenant_id IS NULL THEN 0 ELSE -1 END, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_dids_ad_scope AFTER DELETE ON dids FOR EACH ROW FOLLOWS trg_dids_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'dids', COALESCE(OLD.tenant_id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_approved_caller_ids_ai_scope AFTER INSERT ON approved_caller_ids FOR EACH ROW FOLLOWS trg_approved_caller_ids_ai
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'approved_caller_ids', COALESCE(NEW.tenant_id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_approved_caller_ids_au_scope AFTER UPDATE ON approved_caller_ids FOR EACH ROW FOLLOWS trg_approved_caller_ids_au
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'approved_caller_ids', CASE WHEN NEW.tenant_id = OLD.tenant_id THEN NEW.tenant_id WHEN NEW.tenant_id IS NULL AND OLD.tenant_id IS NULL THEN 0 ELSE -1 END, NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

CREATE TRIGGER trg_approved_caller_ids_ad_scope AFTER DELETE ON approved_caller_ids FOR EACH ROW FOLLOWS trg_approved_caller_ids_ad
  INSERT INTO config_changes (slot, version, table_name, tenant_id, detail, changed_at)
  SELECT v.version MOD 65536, v.version, 'approved_caller_ids', COALESCE(OLD.tenant_id, 0), NULL, v.changed_at FROM config_version v WHERE v.id = 1
  ON DUPLICATE KEY UPDATE version = VALUES(version), table_name = VALUES(table_name), tenant_id = VALUES(tenant_id), detail = VALUES(detail), changed_at = VALUES(changed_at);

-- The copy of DIDs and approved caller IDs that fetches check caller numbers in, its triggers,
-- and its rows for the DIDs already stored (the approvals below reach it through the triggers; a
-- row a running xmlcurl wrote in between is already there, hence the upsert).
CREATE TABLE presentable_numbers (
  source VARCHAR(32) NOT NULL,
  source_id INT NOT NULL,
  tenant_id INT NOT NULL,
  number VARCHAR(32) NOT NULL,
  CONSTRAINT pk_presentable_numbers PRIMARY KEY (source, source_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_presentable_numbers_tenant_id_number ON presentable_numbers (tenant_id, number);

CREATE TRIGGER trg_dids_ai_presentable AFTER INSERT ON dids FOR EACH ROW
  INSERT INTO presentable_numbers (source, source_id, tenant_id, number) VALUES ('dids', NEW.id, NEW.tenant_id, TRIM(LEADING '+' FROM NEW.number))
  ON DUPLICATE KEY UPDATE tenant_id = VALUES(tenant_id), number = VALUES(number);
CREATE TRIGGER trg_dids_au_presentable AFTER UPDATE ON dids FOR EACH ROW
  UPDATE presentable_numbers SET source_id = NEW.id, tenant_id = NEW.tenant_id, number = TRIM(LEADING '+' FROM NEW.number) WHERE source = 'dids' AND source_id = OLD.id;
CREATE TRIGGER trg_dids_ad_presentable AFTER DELETE ON dids FOR EACH ROW
  DELETE FROM presentable_numbers WHERE source = 'dids' AND source_id = OLD.id;
CREATE TRIGGER trg_approved_caller_ids_ai_presentable AFTER INSERT ON approved_caller_ids FOR EACH ROW
  INSERT INTO presentable_numbers (source, source_id, tenant_id, number) VALUES ('approved_caller_ids', NEW.id, NEW.tenant_id, TRIM(LEADING '+' FROM NEW.number))
  ON DUPLICATE KEY UPDATE tenant_id = VALUES(tenant_id), number = VALUES(number);
CREATE TRIGGER trg_approved_caller_ids_au_presentable AFTER UPDATE ON approved_caller_ids FOR EACH ROW
  UPDATE presentable_numbers SET source_id = NEW.id, tenant_id = NEW.tenant_id, number = TRIM(LEADING '+' FROM NEW.number) WHERE source = 'approved_caller_ids' AND source_id = OLD.id;
CREATE TRIGGER trg_approved_caller_ids_ad_presentable AFTER DELETE ON approved_caller_ids FOR EACH ROW
  DELETE FROM presentable_numbers WHERE source = 'approved_caller_ids' AND source_id = OLD.id;

INSERT INTO presentable_numbers (source, source_id, tenant_id, number)
  SELECT 'dids', id, tenant_id, TRIM(LEADING '+' FROM number) FROM dids
  UNION ALL SELECT 'approved_caller_ids', id, tenant_id, TRIM(LEADING '+' FROM number) FROM approved_caller_ids
  ON DUPLICATE KEY UPDATE tenant_id = VALUES(tenant_id), number = VALUES(number);

-- A tenant's users now present only approved numbers; keep today's calls going by approving each
-- tenant's default caller ID (set by the operator). Users' own numbers are not approved here: a
-- number nobody approved falls back to the tenant default when the dialplan is built (logged).
INSERT INTO approved_caller_ids (tenant_id, number, note)
  SELECT id, default_cid_number, 'tenant default, approved by upgrades/2026-12.sql' FROM tenants
  WHERE default_cid_number REGEXP '^[0-9]{1,32}$';
