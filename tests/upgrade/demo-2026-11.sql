-- Demo data for xmlcurl (DESIGN.md section 7). Load into a database created from schema.sql:
--   mysql -u root xmlcurl < fixtures/demo.sql      or      xmlcurl load-fixtures
-- Portable SQL (MySQL/MariaDB and SQLite). Secrets are stored hashed: node HTTP secrets are
-- `<name>-secret` (argon2id), SIP passwords `pw-<tenant>-<user>` (a1-hash = md5(user:domain:password)),
-- and the demo superadmin is `admin` / `demo-admin-password`. Never load this into production.

-- Nodes: HTTP user = switchname = name.
INSERT INTO nodes (id, name, role, sip_address, sip_port, cluster_port, http_username, http_secret_hash, enabled) VALUES
  (1, 'router-1', 'router', '127.0.0.10', 5060, 5080, 'router-1', '$argon2id$v=19$m=19456,t=2,p=1$QSMXDf3D+CvucclmMbwGFQ$6mLYAWl3IvlEIxpFXyiGoDSI4Qjb5BgHNyfgfgyszq0', 1),
  (2, 'media-1', 'media', '127.0.0.11', 5060, 5080, 'media-1', '$argon2id$v=19$m=19456,t=2,p=1$wJcBUriOXi337eEbAkDJfA$3NxtvyV9TDaZ+gumMSr3VaR8zwl5GO4jIgLAyTt3lCA', 1),
  (3, 'media-2', 'media', '127.0.0.12', 5060, 5080, 'media-2', '$argon2id$v=19$m=19456,t=2,p=1$gC7m8Qgnz3SZlUdHdegPOg$2BYqe0JFvBrPKWPvszDSUNFkq1AQTkzYev6BbWy4PKc', 1);

INSERT INTO tenants (id, code, name, sip_domain, context, max_calls, max_cps, default_cid_number, default_cid_name, country_code, national_prefix, international_prefix, enabled) VALUES
  (1, 'acme', 'Acme Motors', 'acme.example.com', 'tenant-acme', 100, 10, '8657100000000', 'Acme', '86', '0', '00', 1),
  (2, 'globex', 'Globex Corporation', 'globex.example.com', 'tenant-globex', 50, 5, '15550100000', 'Globex', '1', '1', '011', 1),
  (3, 'initech', 'Initech', 'initech.example.com', 'tenant-initech', 20, 2, '442070000000', 'Initech', '44', '0', '00', 1);

-- Pinning: acme -> media-1, globex -> media-2, initech -> media-1 (preferred) and media-2.
INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES
  (1, 2, 100),
  (2, 3, 100),
  (3, 2, 100),
  (3, 3, 50);

-- Users: agents 1000-1004 and robots 2000-2004 in every tenant, password pw-<tenant>-<user>.
INSERT INTO sip_users (id, tenant_id, username, kind, a1_hash, enabled) VALUES
  (1, 1, '1000', 'agent', 'fb13ac3881b82c01d60eedfea752203b', 1),
  (2, 1, '1001', 'agent', 'd8996f74e0cf72d4d61699dc9e02ce15', 1),
  (3, 1, '1002', 'agent', 'ea8b132f6fa9dabaa0cca20b4c8a3aa3', 1),
  (4, 1, '1003', 'agent', '68cd4420fb508aac46a936a4b1b4c0b3', 1),
  (5, 1, '1004', 'agent', '626bdd67382e25cb8342e8c9bded77a4', 1),
  (6, 1, '2000', 'robot', '9001f4f42df0d1275c838a3267dc4b54', 1),
  (7, 1, '2001', 'robot', 'cc56e72217c40661ee698e3012ede6af', 1),
  (8, 1, '2002', 'robot', '3ea089b7e7b9e1586983f5447bbf14b0', 1),
  (9, 1, '2003', 'robot', 'b1e0b3ec54d737c19d49d66cb4d63cc1', 1),
  (10, 1, '2004', 'robot', '9f36a2588f80165888df28c457a585c2', 1),
  (11, 2, '1000', 'agent', '2e52d68e35312769b7baf3b1f3eff129', 1),
  (12, 2, '1001', 'agent', '0fbc695271da1c3ac1fb96455beac85a', 1),
  (13, 2, '1002', 'agent', 'eeb8ee8001d22d21172c92f58a7c4d39', 1),
  (14, 2, '1003', 'agent', '2a53ffe976f5517dbcec77524092ea7e', 1),
  (15, 2, '1004', 'agent', 'bd8562ced027c0d591b43892cc7c11a6', 1),
  (16, 2, '2000', 'robot', '1dee0314580a5e786c6d77169093a8a2', 1),
  (17, 2, '2001', 'robot', '83c1702786dec1d09eafa829b60ea9a5', 1),
  (18, 2, '2002', 'robot', '8f95179179da751dcb2df1c1b509f91b', 1),
  (19, 2, '2003', 'robot', '4bc9994aeae99a224ff3f03f448516f3', 1),
  (20, 2, '2004', 'robot', 'c0aa176dba515f39629466e9b307bec8', 1),
  (21, 3, '1000', 'agent', 'bd162307860204bd53da5d9040d98838', 1),
  (22, 3, '1001', 'agent', 'ebf29c106ca3babf79839ff5e66e1815', 1),
  (23, 3, '1002', 'agent', 'cec993cdc42bb86f1b9d16c93dc84ecb', 1),
  (24, 3, '1003', 'agent', '321aa35f3b7d14fd869ec3a6aacd7e8d', 1),
  (25, 3, '1004', 'agent', '3765bd211a6c2c4cec6c0e483ac0cd14', 1),
  (26, 3, '2000', 'robot', '9502984cd49b1efa3f6aed04f1fb740a', 1),
  (27, 3, '2001', 'robot', '3a0152d57af66d90fc3efb7c79e2fe50', 1),
  (28, 3, '2002', 'robot', '43ca695bb7b0e2690d8ae2095cf65fd2', 1),
  (29, 3, '2003', 'robot', 'c2083058edc71911d564e474b3f2f8bc', 1),
  (30, 3, '2004', 'robot', '1ff15f5235bafc540aeb91183c41b6b2', 1);

-- Carriers: no registration; carrier-a wants a leading 0 in front of the number.
INSERT INTO gateways (id, name, proxy, register, caller_id_in_from, transport, strip_digits, prepend, media_mode, source_cidrs, enabled) VALUES
  (1, 'carrier-a', '127.0.0.20:5060', 0, 1, 'udp', 0, '0', 'bypass', '127.0.0.20/32', 1),
  (2, 'carrier-b', '127.0.0.21:5060', 0, 1, 'udp', 0, '', 'bypass', '127.0.0.21/32', 1);

-- Routes: all tenants (tenant_id NULL) default and 86, and a globex-only route for 1.
INSERT INTO routes (id, tenant_id, prefix, gateway_id, priority, weight, enabled) VALUES
  (1, NULL, '', 1, 10, 100, 1),
  (2, NULL, '', 2, 20, 100, 1),
  (3, NULL, '86', 2, 10, 100, 1),
  (4, NULL, '86', 1, 20, 100, 1),
  (5, 2, '1', 2, 10, 100, 1);

INSERT INTO dids (id, number, tenant_id, user_id, enabled) VALUES
  (1, '8610000001', 1, 1, 1),
  (2, '8610000002', 2, 11, 1),
  (3, '8610000003', 3, 26, 1);

INSERT INTO admin_users (id, username, password_hash, role, tenant_id, enabled) VALUES
  (1, 'admin', '$argon2id$v=19$m=65536,t=3,p=4$xb+bTJnh5tg/PB/OO1a0lA$hGPzSK3A2M9MyzJYQYSJJgZ3iHlrlP39/txuIzCraiw', 'superadmin', NULL, 1);
