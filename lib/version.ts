// The release this portal and agent belong to (package.json's version; a unit test holds them
// together). The Nodes page flags agents that report another one as outdated.
export const VERSION = "0.2.0";
