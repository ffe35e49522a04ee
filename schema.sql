-- xmlcurl schema for MySQL 8 / MariaDB 10.6+ (InnoDB, utf8mb4). The source of truth for production.
--
--   mysql -u root xmlcurl < schema.sql
--   mysql -u root xmlcurl < fixtures/demo.sql     (optional demo data)
--
-- The SQLAlchemy models in xmlcurl/models mirror this file; tests/test_schema.py loads it into
-- MariaDB and checks that tables, columns, types, nullability, indexes and foreign keys agree.
-- Constraint names are stable: the admin and API turn violations into answers by name.

SET NAMES utf8mb4;

CREATE TABLE audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT,
  at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  actor VARCHAR(64) NOT NULL,
  source ENUM('admin','api','cli') NOT NULL,
  action VARCHAR(16) NOT NULL,
  entity VARCHAR(32) NOT NULL,
  entity_id VARCHAR(64) NOT NULL,
  tenant_id INT,
  before_json MEDIUMTEXT,
  after_json MEDIUMTEXT,
  CONSTRAINT pk_audit_log PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_entity_entity_id ON audit_log (entity, entity_id);
CREATE INDEX ix_audit_log_tenant_id ON audit_log (tenant_id);

CREATE TABLE config_version (
  id INT NOT NULL,
  version BIGINT NOT NULL,
  changed_at DATETIME(6) NOT NULL,
  epoch VARCHAR(32) NOT NULL,
  CONSTRAINT pk_config_version PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE gateways (
  id INT NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  proxy VARCHAR(255) NOT NULL,
  realm VARCHAR(255),
  username VARCHAR(64),
  password VARCHAR(128),
  register BOOL NOT NULL DEFAULT '0',
  expire_seconds INT NOT NULL DEFAULT '3600',
  retry_seconds INT NOT NULL DEFAULT '30',
  caller_id_in_from BOOL NOT NULL DEFAULT '1',
  ping_seconds INT,
  transport ENUM('udp','tcp','tls') NOT NULL DEFAULT 'udp',
  strip_digits INT NOT NULL DEFAULT '0',
  prepend VARCHAR(16) NOT NULL DEFAULT '',
  media_mode ENUM('bypass','proxy') NOT NULL DEFAULT 'bypass',
  source_cidrs VARCHAR(1024) NOT NULL DEFAULT '',
  enabled BOOL NOT NULL DEFAULT '1',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT pk_gateways PRIMARY KEY (id),
  CONSTRAINT ck_gateways_register_credentials CHECK (register = 0 OR (username IS NOT NULL AND username <> '' AND password IS NOT NULL AND password <> '')),
  CONSTRAINT uq_gateways_name UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE nodes (
  id INT NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  `role` ENUM('media','router') NOT NULL,
  sip_address VARCHAR(45) NOT NULL,
  sip_port INT NOT NULL DEFAULT '5060',
  cluster_port INT NOT NULL DEFAULT '5080',
  http_username VARCHAR(64) NOT NULL,
  http_secret_hash VARCHAR(255) NOT NULL,
  allowed_sources VARCHAR(1024) NOT NULL DEFAULT '',
  esl_address VARCHAR(45),
  esl_port INT,
  esl_password_enc VARCHAR(512),
  enabled BOOL NOT NULL DEFAULT '1',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  session_db_dsn_enc VARCHAR(2048),
  CONSTRAINT pk_nodes PRIMARY KEY (id),
  CONSTRAINT uq_nodes_name UNIQUE (name),
  CONSTRAINT uq_nodes_http_username UNIQUE (http_username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tenants (
  id INT NOT NULL AUTO_INCREMENT,
  code VARCHAR(32) NOT NULL,
  name VARCHAR(128) NOT NULL,
  sip_domain VARCHAR(253) NOT NULL,
  context VARCHAR(64) NOT NULL,
  max_calls INT NOT NULL DEFAULT '100',
  max_cps INT NOT NULL DEFAULT '10',
  default_cid_number VARCHAR(32),
  default_cid_name VARCHAR(64),
  country_code VARCHAR(4) NOT NULL DEFAULT '',
  national_prefix VARCHAR(4) NOT NULL DEFAULT '',
  international_prefix VARCHAR(8) NOT NULL DEFAULT '00',
  enabled BOOL NOT NULL DEFAULT '1',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT pk_tenants PRIMARY KEY (id),
  CONSTRAINT uq_tenants_code UNIQUE (code),
  CONSTRAINT uq_tenants_sip_domain UNIQUE (sip_domain),
  CONSTRAINT uq_tenants_context UNIQUE (context)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE admin_users (
  id INT NOT NULL AUTO_INCREMENT,
  -- Binary: 'Admin' or 'ádmin' is never the account 'admin' (one account, one login throttle).
  username VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  `role` ENUM('superadmin','tenant_admin') NOT NULL,
  tenant_id INT,
  enabled BOOL NOT NULL DEFAULT '1',
  last_login_at DATETIME,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  -- Bumped by sign-out, a password change or disabling: every session signed in before ends.
  session_generation INT NOT NULL DEFAULT '0',
  CONSTRAINT pk_admin_users PRIMARY KEY (id),
  CONSTRAINT ck_admin_users_role_tenant CHECK ((role = 'superadmin' AND tenant_id IS NULL) OR (role = 'tenant_admin' AND tenant_id IS NOT NULL)),
  CONSTRAINT uq_admin_users_username UNIQUE (username),
  CONSTRAINT fk_admin_users_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_admin_users_tenant_id ON admin_users (tenant_id);

CREATE TABLE routes (
  id INT NOT NULL AUTO_INCREMENT,
  tenant_id INT,
  tenant_scope INT GENERATED ALWAYS AS (coalesce(tenant_id, 0)) STORED,
  prefix VARCHAR(32) NOT NULL DEFAULT '',
  gateway_id INT NOT NULL,
  priority INT NOT NULL DEFAULT '10',
  weight INT NOT NULL DEFAULT '100',
  enabled BOOL NOT NULL DEFAULT '1',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT pk_routes PRIMARY KEY (id),
  CONSTRAINT uq_routes_tenant_scope_prefix_gateway_id UNIQUE (tenant_scope, prefix, gateway_id),
  CONSTRAINT fk_routes_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT,
  CONSTRAINT fk_routes_gateway_id FOREIGN KEY(gateway_id) REFERENCES gateways (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_routes_gateway_id ON routes (gateway_id);
CREATE INDEX ix_routes_tenant_id ON routes (tenant_id);

CREATE TABLE sip_users (
  id INT NOT NULL AUTO_INCREMENT,
  tenant_id INT NOT NULL,
  username VARCHAR(64) NOT NULL,
  kind ENUM('agent','robot') NOT NULL DEFAULT 'agent',
  a1_hash VARCHAR(32) NOT NULL,
  cid_name VARCHAR(64),
  cid_number VARCHAR(32),
  outbound_cid_name VARCHAR(64),
  outbound_cid_number VARCHAR(32),
  enabled BOOL NOT NULL DEFAULT '1',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT pk_sip_users PRIMARY KEY (id),
  CONSTRAINT uq_sip_users_tenant_id_username UNIQUE (tenant_id, username),
  CONSTRAINT uq_sip_users_tenant_id_id UNIQUE (tenant_id, id),
  CONSTRAINT fk_sip_users_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tenant_nodes (
  tenant_id INT NOT NULL,
  node_id INT NOT NULL,
  weight INT NOT NULL DEFAULT '100',
  CONSTRAINT pk_tenant_nodes PRIMARY KEY (tenant_id, node_id),
  CONSTRAINT fk_tenant_nodes_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
  CONSTRAINT fk_tenant_nodes_node_id FOREIGN KEY(node_id) REFERENCES nodes (id) ON DELETE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_tenant_nodes_node_id ON tenant_nodes (node_id);

CREATE TABLE api_tokens (
  id INT NOT NULL AUTO_INCREMENT,
  admin_user_id INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  token_hash VARCHAR(64) NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_used_at DATETIME,
  revoked_at DATETIME,
  CONSTRAINT pk_api_tokens PRIMARY KEY (id),
  CONSTRAINT fk_api_tokens_admin_user_id FOREIGN KEY(admin_user_id) REFERENCES admin_users (id) ON DELETE CASCADE,
  CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_api_tokens_admin_user_id ON api_tokens (admin_user_id);

-- Failed admin logins, shared by every worker and instance: the login throttle counts them per
-- (account, address) within its window. Not configuration: no version triggers.
CREATE TABLE login_failures (
  id BIGINT NOT NULL AUTO_INCREMENT,
  subject VARCHAR(80) NOT NULL,
  address VARCHAR(45) NOT NULL,
  failed_at DATETIME NOT NULL,
  CONSTRAINT pk_login_failures PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX ix_login_failures_subject_address ON login_failures (subject, address, failed_at);
CREATE INDEX ix_login_failures_failed_at ON login_failures (failed_at);

CREATE TABLE dids (
  id INT NOT NULL AUTO_INCREMENT,
  number VARCHAR(32) NOT NULL,
  tenant_id INT NOT NULL,
  user_id INT,
  enabled BOOL NOT NULL DEFAULT '1',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT pk_dids PRIMARY KEY (id),
  CONSTRAINT fk_dids_tenant_user FOREIGN KEY(tenant_id, user_id) REFERENCES sip_users (tenant_id, id) ON DELETE RESTRICT,
  CONSTRAINT fk_dids_tenant_id FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE RESTRICT,
  CONSTRAINT uq_dids_number UNIQUE (number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_dids_tenant_id_user_id ON dids (tenant_id, user_id);

CREATE TABLE sip_user_variables (
  id INT NOT NULL AUTO_INCREMENT,
  user_id INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  value VARCHAR(255) NOT NULL,
  CONSTRAINT pk_sip_user_variables PRIMARY KEY (id),
  CONSTRAINT uq_sip_user_variables_user_id_name UNIQUE (user_id, name),
  CONSTRAINT fk_sip_user_variables_user_id FOREIGN KEY(user_id) REFERENCES sip_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Caller numbers a tenant's users may present besides its DIDs, approved by a superadmin.
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

-- The numbers each tenant's users may present, without their '+': a copy of `dids` and
-- `approved_caller_ids` kept by the triggers below (never written otherwise), one row per source
-- row. A fetch checks a user's caller numbers with one indexed lookup here instead of a subquery on
-- each source table. `xmlcurl presentable-numbers --repair` rebuilds it (a dump restored without
-- its triggers).
CREATE TABLE presentable_numbers (
  source VARCHAR(32) NOT NULL,
  source_id INT NOT NULL,
  tenant_id INT NOT NULL,
  number VARCHAR(32) NOT NULL,
  CONSTRAINT pk_presentable_numbers PRIMARY KEY (source, source_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE INDEX ix_presentable_numbers_tenant_id_number ON presentable_numbers (tenant_id, number);

-- The cluster monitor's snapshot (`xmlcurl monitor`): what each node answered on its event socket.
-- Written every few seconds, so these tables have NO version triggers: a snapshot never drops the
-- fetch caches. One row per node and per thing, each with the time it was seen.
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

-- One monitor polls at a time: it renews this lease every round; another takes over once it expires.
CREATE TABLE cluster_monitor_lease (
  id INT NOT NULL,
  holder VARCHAR(128) NOT NULL,
  expires_at DATETIME NOT NULL,
  CONSTRAINT pk_cluster_monitor_lease PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The configuration version. Every change to a table that shapes what nodes are served bumps it,
-- through the triggers below, so a change made with plain SQL is noticed as surely as one made
-- through the admin: each xmlcurl worker polls this single row and drops its caches when it moves.
-- The epoch is random: a database created again from this file never re-uses the versions of
-- another (the workers drop everything when it changes). After restoring a backup, give it a new
-- epoch too: UPDATE config_version SET epoch = MD5(CONCAT(UUID(), RAND())) WHERE id = 1.
INSERT INTO config_version (id, version, changed_at, epoch) VALUES (1, 1, CURRENT_TIMESTAMP(6), MD5(CONCAT(UUID(), RAND())));

CREATE TRIGGER trg_tenants_ai AFTER INSERT ON tenants FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_tenants_au AFTER UPDATE ON tenants FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_tenants_ad AFTER DELETE ON tenants FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_nodes_ai AFTER INSERT ON nodes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_nodes_au AFTER UPDATE ON nodes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_nodes_ad AFTER DELETE ON nodes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_tenant_nodes_ai AFTER INSERT ON tenant_nodes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_tenant_nodes_au AFTER UPDATE ON tenant_nodes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_tenant_nodes_ad AFTER DELETE ON tenant_nodes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_sip_users_ai AFTER INSERT ON sip_users FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_sip_users_au AFTER UPDATE ON sip_users FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_sip_users_ad AFTER DELETE ON sip_users FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_sip_user_variables_ai AFTER INSERT ON sip_user_variables FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_sip_user_variables_au AFTER UPDATE ON sip_user_variables FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_sip_user_variables_ad AFTER DELETE ON sip_user_variables FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_gateways_ai AFTER INSERT ON gateways FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_gateways_au AFTER UPDATE ON gateways FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_gateways_ad AFTER DELETE ON gateways FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_routes_ai AFTER INSERT ON routes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_routes_au AFTER UPDATE ON routes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_routes_ad AFTER DELETE ON routes FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_dids_ai AFTER INSERT ON dids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_dids_au AFTER UPDATE ON dids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_dids_ad AFTER DELETE ON dids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_approved_caller_ids_ai AFTER INSERT ON approved_caller_ids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_approved_caller_ids_au AFTER UPDATE ON approved_caller_ids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;
CREATE TRIGGER trg_approved_caller_ids_ad AFTER DELETE ON approved_caller_ids FOR EACH ROW
  UPDATE config_version SET version = version + 1, changed_at = CURRENT_TIMESTAMP(6) WHERE id = 1;

-- What each version changed: the table and the tenant of the row (0: a row of no tenant, such as
-- nodes, gateways and routes for all tenants; -1: a row moved between tenants), and for routes the
-- prefix: '=<prefix>' for a route changed in place, '+<prefix>' for one added or removed (the set of
-- routed prefixes may have changed), NULL when its prefix changed (any route may be affected). A ring of 65536
-- slots (version MOD 65536) that never grows: a worker reads only the changes above the version it
-- saw last (one index range), and one that fell further behind sees a gap and drops everything.
-- Each slot is written once per 65536 changes, so even a bulk import in one transaction rolls back
-- in linear time (rewriting one row per change would build a long version chain per row).
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

-- Each runs after the trigger that bumps the version above, in the same transaction, and records
-- the version that trigger made (the row lock on config_version orders the writers, so a version
-- is visible only after every lower one).

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

-- presentable_numbers follows its two sources (after the version triggers, in the same transaction).
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

-- Dispatcher sets for the SIP proxy in front of the media nodes: one set per tenant (setid = tenant
-- id), one destination per enabled media node the tenant is pinned to. Views, not tables: they are
-- always exactly the pinning, whichever way it was changed, with no copy to keep in step. The
-- proxy picks its layout with the dispatcher module's table_name; both read `version` first.
CREATE TABLE version (
  table_name VARCHAR(32) NOT NULL,
  table_version INT NOT NULL DEFAULT '0',
  CONSTRAINT pk_version PRIMARY KEY (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO version (table_name, table_version) VALUES ('dispatcher_kamailio', 4), ('dispatcher_opensips', 9);

-- Kamailio (utils/kamctl/mysql/dispatcher-create.sql, version 4): a higher priority is tried first
-- (algorithm 8); attrs weight=1..100 drives algorithm 9.
CREATE OR REPLACE VIEW dispatcher_kamailio AS
  SELECT tn.tenant_id * 100000 + tn.node_id AS id, tn.tenant_id AS setid,
         CONCAT('sip:', IF(LOCATE(':', n.sip_address) > 0, CONCAT('[', n.sip_address, ']'), n.sip_address), ':', n.sip_port) AS destination,
         0 AS flags, tn.weight AS priority, CONCAT('weight=', LEAST(GREATEST(tn.weight, 1), 100)) AS attrs,
         n.name AS description
  FROM tenant_nodes tn JOIN nodes n ON n.id = tn.node_id JOIN tenants t ON t.id = tn.tenant_id
  WHERE n.enabled = 1 AND n.`role` = 'media' AND t.enabled = 1;

-- OpenSIPS 3.x (scripts/mysql/dispatcher-create.sql, version 9): state 0 = active; weight is text.
CREATE OR REPLACE VIEW dispatcher_opensips AS
  SELECT tn.tenant_id * 100000 + tn.node_id AS id, tn.tenant_id AS setid,
         CONCAT('sip:', IF(LOCATE(':', n.sip_address) > 0, CONCAT('[', n.sip_address, ']'), n.sip_address), ':', n.sip_port) AS destination,
         CAST(NULL AS CHAR(128)) AS socket, 0 AS state, 0 AS probe_mode, CAST(tn.weight AS CHAR(64)) AS weight,
         tn.weight AS priority, '' AS attrs, n.name AS description
  FROM tenant_nodes tn JOIN nodes n ON n.id = tn.node_id JOIN tenants t ON t.id = tn.tenant_id
  WHERE n.enabled = 1 AND n.`role` = 'media' AND t.enabled = 1;

-- The proxy's tenant lookup: request domain -> dispatcher set (enabled tenants only).
CREATE OR REPLACE VIEW dispatcher_domains AS
  SELECT t.sip_domain AS domain, t.id AS setid FROM tenants t WHERE t.enabled = 1;
