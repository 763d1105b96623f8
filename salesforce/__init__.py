"""The Salesforce DX source an admin deploys (`sf project deploy start --source-dir salesforce`),
shipped as revsched.salesforce so the local org can build its custom schema from it.
This file is for Python only: .forceignore keeps it out of deployments."""
