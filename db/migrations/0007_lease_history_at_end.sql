CREATE INDEX `lease_history_vnet_at_idx` ON `lease_history` (`vnet_id`,`created_at`);--> statement-breakpoint
-- A live lease is now its own "allocate"/"hold" history entry until it ends (then both events are
-- written). Drop the entry each live lease already has, the latest of its kind for its MAC, so it
-- does not show twice; the lease row keeps its time, user and reason.
DELETE FROM `lease_history` WHERE `id` IN (
  SELECT (
    SELECT max(h.`id`) FROM `lease_history` h
    WHERE h.`vnet_id` = l.`vnet_id` AND h.`mac` = l.`mac`
      AND h.`action` = CASE l.`state` WHEN 'used' THEN 'allocate' ELSE 'hold' END
  ) FROM `leases` l
);
