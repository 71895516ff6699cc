ALTER TABLE "vnets" ADD COLUMN "dhcp_lease_seconds" bigint;--> statement-breakpoint
ALTER TABLE "vnets" ADD COLUMN "dns_upstreams" jsonb DEFAULT '[]'::jsonb NOT NULL;